"""Digests and alerts as messages: an HTML email with chart images, a plain-text part, a webhook payload.

Mention texts, terms, names and URLs come from strangers on the internet, so the
HTML templates autoescape everything, links are made only from ``http(s)`` URLs,
and the Slack-compatible webhook text escapes ``&``, ``<`` and ``>`` (Slack's own
control characters: without that, a tweet could ping ``<!channel>``).

Charts are drawn with matplotlib's object API on the Agg canvas (no pyplot, no
display, safe in the scheduler's threads) and attached as ``image/png`` parts
referenced from the HTML by ``cid:``; :func:`render_digest` can inline them as
``data:`` URIs instead, for a standalone HTML file.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from listener.links import http_url
from listener.models import Alert
from responders.digests.compute import Digest, SentimentMix
from responders.digests.terms import excerpt

# "uncertain": a label below [sentiment] min_confidence, counted apart from the three labels.
COLOURS = {"negative": "#d64541", "neutral": "#9aa0a6", "positive": "#2e9d5b", "uncertain": "#e8c468",
           "unscored": "#d9d9d9"}
ORDER = ("negative", "neutral", "positive", "uncertain", "unscored")


@dataclass(frozen=True)
class Image:
    """A PNG attached to an email; the HTML refers to it as ``cid:<content_id>``."""

    content_id: str  # without angle brackets
    filename: str
    png: bytes
    alt: str


@dataclass
class Message:
    """One thing to deliver, in every form a notifier may need."""

    kind: str  # digest, alert
    reference: str
    subject: str
    text: str
    html: str
    images: list[Image] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)


# --- formatting --------------------------------------------------------------------------------------


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def percent(value: float | None, digits: int = 1) -> str:
    """A share 0..1 as a percentage."""
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def signed(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "–" if value is None else f"{value:+.{digits}f}{unit}".replace("-", "−")


SMALL_BASE = 20
"""Below this many mentions before, a change is told in mentions: +38600% from 1 mention says nothing."""


def volume_change(now: int | None, before: int | None, digits: int = 1) -> str:
    """How the number of mentions moved: a percentage, or "new" / "+12 mentions" when the base is tiny."""
    if now is None or before is None or (now == 0 and before == 0):
        return "–"
    if before == 0:
        return "new"
    if before < SMALL_BASE:
        difference = now - before
        return "no change" if difference == 0 else \
            f"{difference:+,} mention{'s' if abs(difference) != 1 else ''}".replace("-", "−")
    return signed(100.0 * (now - before) / before, digits, "%")


def duration(seconds: float | None) -> str:
    """Seconds as people say it: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def safe_url(url: str | None) -> str:
    """The URL if it is http(s), else empty: a ``javascript:`` link from a payload never becomes a link."""
    return http_url(url) or ""


def slack_escape(text: str) -> str:
    """Escape the three characters Slack treats as markup in ``text`` (links, mentions, ``<!channel>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("responders.digests", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["volume_change"] = volume_change
    env.filters.update(count=count, percent=percent, signed=signed, duration=duration, safe_url=safe_url,
                       excerpt=excerpt, slack=slack_escape)
    env.globals.update(colours=COLOURS, order=ORDER)
    return env


_ENV: Environment | None = None


def environment() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


# --- charts ------------------------------------------------------------------------------------------


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def volume_chart(digest: Digest) -> bytes:
    """Stacked bars of the mentions per bucket by sentiment, with the net sentiment as a line."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 2.8), dpi=100, layout="constrained")
    axes = figure.subplots()
    positions = range(len(digest.series))
    bottom = [0] * len(digest.series)
    for label in ORDER:
        heights = [getattr(point.mix, label) for point in digest.series]
        axes.bar(positions, heights, bottom=bottom, color=COLOURS[label], label=label, width=0.85)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    step = max(1, len(digest.series) // 12)
    axes.set_xticks(list(positions)[::step], [p.label for p in digest.series][::step], fontsize=7)
    axes.set_ylabel("mentions", fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=7, ncols=4, loc="upper left", frameon=False, bbox_to_anchor=(0, 1.18))
    net = [point.mix.net for point in digest.series]
    if any(value is not None for value in net):
        line = axes.twinx()
        line.plot(list(positions), [float("nan") if v is None else v for v in net], color="#1f3a93", marker=".",
                  linewidth=1.2, label="net sentiment")
        line.set_ylim(-100, 100)
        line.set_ylabel("net sentiment", fontsize=8, color="#1f3a93")
        line.tick_params(axis="y", labelsize=7, colors="#1f3a93")
        line.spines[["top"]].set_visible(False)
    return _png(figure)


def platform_chart(digest: Digest) -> bytes:
    """One horizontal 100% bar per platform (and all of them): the sentiment mix side by side."""
    from matplotlib.figure import Figure

    rows: list[tuple[str, SentimentMix]] = [("all", digest.overall)] + [(p.platform, p.mix) for p in digest.platforms]
    rows = [row for row in rows if row[1].total]
    figure = Figure(figsize=(7.2, 0.5 + 0.42 * len(rows)), dpi=100, layout="constrained")
    axes = figure.subplots()
    names = [name for name, _ in rows][::-1]
    mixes = [mix for _, mix in rows][::-1]
    left = [0.0] * len(rows)
    for label in ORDER:
        widths = [100.0 * getattr(mix, label) / mix.total for mix in mixes]
        axes.barh(names, widths, left=left, color=COLOURS[label], label=label, height=0.6)
        for y, (x, w) in enumerate(zip(left, widths, strict=True)):
            if w >= 7:
                axes.text(x + w / 2, y, f"{w:.0f}%", ha="center", va="center", fontsize=7, color="white")
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_xlim(0, 100)
    axes.set_xlabel("share of mentions (%)", fontsize=8)
    axes.tick_params(labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


# --- messages ----------------------------------------------------------------------------------------


def _content_id(name: str) -> str:
    return make_msgid(idstring=name, domain="harken.local")[1:-1]


def render_digest(digest: Digest, *, inline_images: bool = False) -> Message:
    """The digest as an email (HTML with charts, plain text) and a webhook payload."""
    images: list[Image] = []
    if not digest.empty:
        images = [
            Image(_content_id("volume"), "volume.png", volume_chart(digest),
                  f"Mentions per {'hour' if len(digest.series) and digest.period.kind == 'day' else 'day'} "
                  "by sentiment, with the net sentiment"),
            Image(_content_id("platforms"), "platforms.png", platform_chart(digest), "Sentiment mix by platform"),
        ]
    sources = {
        image.filename: (f"data:image/png;base64,{base64.b64encode(image.png).decode()}" if inline_images
                         else f"cid:{image.content_id}")
        for image in images
    }
    env = environment()
    context = {"d": digest, "images": images, "sources": sources}
    subject = f"{digest.brand} digest: {digest.period.label}"
    text = env.get_template("digest.txt.j2").render(context)
    html = env.get_template("digest.html.j2").render(context)
    slack = env.get_template("digest.slack.j2").render(context)
    payload = {"text": slack.strip(), "harken": {"kind": "digest", "digest": digest.as_dict()}}
    return Message("digest", digest.period.reference, subject, text, html, [] if inline_images else images, payload)


def alert_data(alert: Alert) -> dict[str, Any]:
    """An alert as JSON-ready data (for the webhook, the CLI and the web app)."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": alert.id, "kind": alert.kind, "scope": alert.scope,
        "window_start": iso(alert.window_start), "window_end": iso(alert.window_end),
        "observed": alert.observed, "expected": alert.expected, "p_value": alert.p_value,
        "created_at": iso(alert.created_at), "explanation": alert.explanation,
    }


def render_alert(alert: Alert, brand: str) -> Message:
    """A spike alert as an email (HTML, plain text) and a webhook payload; it explains itself."""
    env = environment()
    explanation = alert.explanation
    context = {"a": alert, "e": explanation, "brand": brand}
    where = "all mentions" if alert.scope == "brand" else alert.scope.removeprefix("source:")
    subject = (f"{brand} alert: {alert.observed} negative mentions in {explanation.get('window_minutes', 60)} min "
               f"({where}; about {alert.expected:.1f} expected)")
    text = env.get_template("alert.txt.j2").render(context)
    html = env.get_template("alert.html.j2").render(context)
    slack = env.get_template("alert.slack.j2").render(context)
    payload = {"text": slack.strip(), "harken": {"kind": "alert", "alert": alert_data(alert)}}
    return Message("alert", str(alert.id), subject, text, html, [], payload)
