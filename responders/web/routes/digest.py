"""The digest dashboard and spike alerts: how the brand is talked about over a period, and what spiked.

The dashboard is :func:`responders.digests.compute.compute_digest`, the same
computation the scheduled email and the webhook use, so the figures on screen are
the figures in the inbox of every manager. The page only lays them out: the
charts are Chart.js configs built here from the digest's own series, and every
list links on to the mentions and profiles behind it.

Periods are the digest's: yesterday, last week, last month or the last 30 days in
the ``[digest]`` time zone, or the local days from ``since`` to ``until`` (both included);
and today, this week or this month so far, in the reader's own time zone (``/account``).

A view serves a stored digest (responders.digests.snapshots) younger than
``[digest] snapshot_max_age_seconds`` and says when it was computed; "Recompute
now" (a POST) computes it again at once.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.engine import Engine

from listener.errors import HarkenError
from listener.models import Alert, StaffUser
from listener.settings import Settings
from responders.digests.alerts import get_alert, list_alerts
from responders.digests.compute import Digest, SentimentMix
from responders.digests.dispatch import build_digest
from responders.digests.errors import PeriodError
from responders.digests.periods import SO_FAR_KINDS, Period, check_day, last_days, resolve_period, so_far
from responders.digests.render import COLOURS, ORDER, alert_data
from responders.digests.snapshots import DASHBOARD_DAYS, Served, current_digest
from responders.roles import Action
from responders.web.clock import zone_of
from responders.web.deps import RecordId, SettingsDep, allowed
from responders.web.pages import page

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["digests"])

DigestReader = Annotated[StaffUser, allowed(Action.READ_DIGESTS)]
PeriodKind = Literal["today", "this_week", "this_month", "day", "week", "month", "30days"]
Day = Annotated[date | None, Query(description="a local calendar day, YYYY-MM-DD (both bounds included)")]

ALERTS_ON_DASHBOARD = 5
ALERTS_PER_PAGE = 50


class AlertNotFound(HarkenError, LookupError):
    """No alert has this id."""


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def chosen_period(settings: Settings, kind: str | None, since: date | None, until: date | None,
                  now: datetime | None = None, reader: StaffUser | None = None) -> Period:
    """The period asked for: ``since``/``until`` (local days, both included) win over ``kind``.

    Without either, the last complete day, week or month, or the last 30 complete
    days; the default is the period of the scheduled digest, so the dashboard opens
    on what the last email told.
    """
    default = settings.digest.scheduled_period if settings.digest.scheduled_period in ("day", "week", "month") \
        else "week"
    for day in (since, until):
        if day is not None:
            check_day(day)  # before any arithmetic: the day after 9999-12-31 is an overflow, not a 4xx
    if kind in SO_FAR_KINDS and since is None and until is None:
        return so_far(kind, zone_of(reader, settings.digest.timezone).key, now)
    if kind in SO_FAR_KINDS:
        kind = None
    if kind == "30days":
        if since is None and until is None:
            return last_days(DASHBOARD_DAYS, settings.digest.timezone, now)
        kind = None
    return resolve_period(
        kind or default, settings.digest.timezone,
        since.isoformat() if since else None,
        # resolve_period's end is exclusive: the day after the last day asked for.
        (until + timedelta(days=1)).isoformat() if until else None,
        now,
    )


def serve_digest(engine: Engine, settings: Settings, period: Period, since: date | None, until: date | None,
                 *, refresh: bool = False) -> Served:
    """The digest a view shows: a snapshot when fresh enough (see responders.digests.snapshots).

    A range with no last day runs to this very moment, so its bounds never repeat:
    it is computed every time and never stored.
    """
    if (since is not None and until is None) or period.kind in SO_FAR_KINDS:
        digest = build_digest(engine, settings, period)
        return Served(digest, digest.generated_at, False)
    return current_digest(engine, settings, period, refresh=refresh)


def every(seconds: int) -> str:
    """How often the figures are refreshed, as people say it: "10 minutes", "1 hour", "90 seconds"."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def digest_query(kind: str | None, since: date | None, until: date | None) -> str:
    """The dashboard's own query string for a period choice (where "Recompute now" returns)."""
    query = {"period": kind, "since": since.isoformat() if since else None,
             "until": until.isoformat() if until else None}
    return urlencode({k: v for k, v in query.items() if v})


def period_title(period: Period) -> str:
    """The period as the dashboard names it: a chosen range of days shows its last day, not the end bound."""
    if period.kind != "custom" or period.local_start.time() != time(0) or period.local_end.time() != time(0):
        return period.label.removesuffix(f" ({period.timezone})")
    last = period.local_end.date() - timedelta(days=1)
    first = period.local_start.date()
    return first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"


def inbox_link(start: datetime, end: datetime, **filters: str) -> str:
    """The web inbox over ``[start, end)`` and ``filters``, every status included.

    The inbox filters whole UTC days, so the link covers the days the range touches.
    """
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    query = {"status": "all", **filters, "since": start.astimezone(UTC).date().isoformat(),
             "until": last.isoformat()}
    return f"/inbox?{urlencode(query)}"


def series_chart(digest: Digest) -> dict[str, Any]:
    """Mentions per chart bucket as stacked bars by sentiment, and the net sentiment as a line."""
    points = digest.series
    datasets: list[dict[str, Any]] = [
        {"type": "bar", "label": label, "data": [getattr(p.mix, label) for p in points],
         "backgroundColor": COLOURS[label], "stack": "mentions", "yAxisID": "y", "order": 2}
        for label in ORDER
    ]
    datasets.append({"type": "line", "label": "net sentiment", "yAxisID": "net", "order": 1, "spanGaps": True,
                     "borderColor": "#1d2430", "backgroundColor": "#1d2430", "pointRadius": 2,
                     "data": [_round(p.mix.net) for p in points]})
    return {
        "type": "bar",
        "data": {"labels": [p.label for p in points], "datasets": datasets},
        "options": {
            "responsive": True, "maintainAspectRatio": False, "interaction": {"mode": "index", "intersect": False},
            "scales": {
                "x": {"stacked": True},
                "y": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0},
                      "title": {"display": True, "text": "mentions"}},
                "net": {"position": "right", "min": -100, "max": 100, "grid": {"drawOnChartArea": False},
                        "title": {"display": True, "text": "net sentiment"}},
            },
        },
    }


def platform_chart(digest: Digest) -> dict[str, Any]:
    """One horizontal bar per platform, split by sentiment."""
    return {
        "type": "bar",
        "data": {
            "labels": [p.platform for p in digest.platforms],
            "datasets": [{"label": label, "data": [getattr(p.mix, label) for p in digest.platforms],
                          "backgroundColor": COLOURS[label]} for label in ORDER],
        },
        "options": {"indexAxis": "y", "responsive": True, "maintainAspectRatio": False,
                    "scales": {"x": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0}},
                               "y": {"stacked": True}}},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def alert_link(alert: Alert) -> str:
    """The alert's window in the web inbox, negative mentions only."""
    return inbox_link(alert.window_start, alert.window_end, sentiment="negative")


def _alert(engine: Engine, alert_id: int) -> Alert:
    alert = get_alert(engine, alert_id)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    return alert


# -- pages -------------------------------------------------------------------------------------


@router.get("/digest")
def digest_page(
    request: Request,
    settings: SettingsDep,
    user: DigestReader,
    period: PeriodKind | None = None,
    since: Day = None,
    until: Day = None,
) -> Response:
    context: dict[str, Any] = {"nav": "digest", "kind": period, "since": since, "until": until, "digest": None,
                               "alerts": list_alerts(_engine(request), ALERTS_ON_DASHBOARD), "alert_link": alert_link,
                               "title": period_title}
    try:
        chosen = chosen_period(settings, period, since, until, reader=user)
    except PeriodError as error:
        return page(request, "digest.html", context | {"error": str(error)}, status_code=422)
    served = serve_digest(_engine(request), settings, chosen, since, until)
    digest = served.digest
    kind = period or (chosen.kind if chosen.kind != "custom" else None)
    max_age = settings.digest.snapshot_max_age_seconds
    context.update({
        "digest": digest, "kind": kind, "mix": _mix_rows(digest.overall),
        "computed_at": served.computed_at, "from_snapshot": served.from_snapshot,
        "refreshed_every": every(max_age) if max_age > 0 else None,
        "series_chart": json.dumps(series_chart(digest)), "platform_chart": json.dumps(platform_chart(digest)),
        "inbox": inbox_link(chosen.start, chosen.end),
        "inbox_negative": inbox_link(chosen.start, chosen.end, sentiment="negative"),
        "inbox_for": lambda **filters: inbox_link(chosen.start, chosen.end, **filters),
    })
    return page(request, "digest.html", context)


@router.post("/digest/recompute")
def recompute_digest(
    request: Request,
    settings: SettingsDep,
    user: DigestReader,
    period: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> Response:
    """"Recompute now": compute the period's digest again, store it, and show the dashboard on it."""
    try:
        kind = period or None
        if kind is not None and kind not in get_args(PeriodKind):
            raise PeriodError(f"a period is one of {', '.join(get_args(PeriodKind))}, not {kind!r}")
        first = date.fromisoformat(since) if since else None
        last = date.fromisoformat(until) if until else None
        chosen = chosen_period(settings, kind, first, last, reader=user)
    except (PeriodError, ValueError) as error:
        raise HTTPException(422, str(error)) from None
    serve_digest(_engine(request), settings, chosen, first, last, refresh=True)
    query = digest_query(kind, first, last)
    return RedirectResponse("/digest" + (f"?{query}" if query else ""), status_code=303)


def _mix_rows(mix: SentimentMix) -> list[tuple[str, int, float | None]]:
    return [(label, getattr(mix, label), mix.share(label)) for label in ORDER]


@router.get("/alerts")
def alerts_page(request: Request, user: DigestReader, scope: str | None = None) -> Response:
    alerts = list_alerts(_engine(request), ALERTS_PER_PAGE, scope or None)
    return page(request, "alerts.html", {"nav": "alerts", "alerts": alerts, "scope": scope or "",
                                         "alert_link": alert_link, "single": False})


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: RecordId, user: DigestReader) -> Response:
    return page(request, "alerts.html", {"nav": "alerts", "alerts": [_alert(_engine(request), alert_id)],
                                         "scope": "", "alert_link": alert_link, "single": True})


# -- JSON API ----------------------------------------------------------------------------------


@api.get("/digest")
def api_digest(
    request: Request,
    settings: SettingsDep,
    user: DigestReader,
    period: PeriodKind | None = None,
    since: Day = None,
    until: Day = None,
) -> dict[str, Any]:
    """The digest of a period, exactly as the scheduled email and webhook compute it.

    ``period``: ``today``, ``this_week`` or ``this_month`` so far (in the token holder's time zone),
    the last complete day, week or month, or ``30days`` (default: the
    scheduled digest's); ``since``/``until``: local calendar days, both included,
    instead, at most 366 days apart, between 1900-01-01 and 2999-12-31 (422 otherwise). Like
    the dashboard, it may be a snapshot: ``generated_at`` says when it was computed (at most
    ``[digest] snapshot_max_age_seconds`` ago).
    """
    try:
        chosen = chosen_period(settings, period, since, until, reader=user)
    except PeriodError as error:
        raise HTTPException(422, str(error)) from None
    digest = serve_digest(_engine(request), settings, chosen, since, until).digest
    return digest.as_dict() | {"empty": digest.empty}


@api.get("/alerts")
def api_alerts(
    request: Request,
    user: DigestReader,
    scope: Annotated[str | None, Query(description='"brand" or "source:<name>"')] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    """Spike alerts, newest first, each with its explanation (baseline, test, terms, mentions)."""
    return {"items": [alert_data(alert) for alert in list_alerts(_engine(request), limit, scope)]}


@api.get("/alerts/{alert_id}")
def api_alert(request: Request, alert_id: RecordId, user: DigestReader) -> dict[str, Any]:
    return alert_data(_alert(_engine(request), alert_id))
