"""The small marks the pages draw on every row and card: a moment, an SLA, a priority, a sentiment.

Jinja globals written in Python rather than template macros: the inbox row
(``responders.web.inbox_row``), the queue's cards and the mention page draw them many times a
page, and Python calls them directly, without Jinja's runtime in between. Every value is
escaped here as the template escaped it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from markupsafe import Markup, escape

from listener.sentiment.certainty import DEFAULT_MIN_CONFIDENCE, UNCERTAIN, shown_sentiment
from responders.web.clock import full_text, local_text, reader_zone, sla_state

UNCERTAIN_TITLE = "below the confidence threshold: not acted on"


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return (f'<time datetime="{escape(moment.isoformat())}" title="{escape(full_text(moment, zone))}">'
            f"{escape(local_text(moment, zone))}</time>")


@pass_context
def when(context: Any, moment: datetime | None) -> Markup:
    """``moment`` in the reader's time zone (their setting, else the team's), with the year when it is not this
    year; the exact time and zone as its tooltip."""
    return Markup(_when(moment, reader_zone(context))) if moment else Markup("")


@pass_context
def sla(context: Any, due: datetime | None, status: str) -> Markup:
    """Time left to answer, or how long overdue, for a mention still owed an answer; the due time beside it."""
    if due is None:
        return Markup("")
    moment = _when(due, reader_zone(context))
    state = sla_state(due, status)
    if state is None:  # closed: only the due time
        return Markup(moment)
    overdue = " overdue" if state.overdue else ""
    return Markup(f'<span class="sla{overdue}">{escape(state.text)}</span> <small>{moment}</small>')


def priority(score: float | None, level: str | None) -> Markup:
    """The priority level with its score (0-100), or a dash before triage has scored it."""
    title, shown_score = ("priority not yet computed", "") if score is None \
        else (f"priority {score:.0f}", f" <small>{score:.0f}</small>")
    return Markup(f'<span class="prio {escape(level or "none")}" title="{title}">'
                  f'{escape(level or "–")}{shown_score}</span>')


@pass_context
def sentiment(context: Any, label: str | None, confidence: float | None = None) -> Markup:
    """The label with its confidence; below ``[sentiment] min_confidence`` "uncertain", the model's guess beside it."""
    request = context.get("request")
    settings = request.app.state.settings if request is not None else None
    threshold = settings.sentiment.min_confidence if settings is not None else DEFAULT_MIN_CONFIDENCE
    shown = shown_sentiment(label, confidence, threshold)
    uncertain = shown == UNCERTAIN
    html = f'<span class="sentiment {escape(shown)}"'
    html += f' title="{UNCERTAIN_TITLE}">{escape(shown)} <small>({escape(label)})</small>' if uncertain \
        else f">{escape(shown)}"
    if confidence is not None and label and label != "unscored":
        html += f" <small>{confidence * 100:.0f}%</small>"
    return Markup(html + "</span>")


def install(env: Any) -> None:
    """The marks as globals of every template."""
    env.globals.update(when=when, sla=sla, priority=priority, sentiment=sentiment)
