"""Customer profiles: find one, see who they are and what they said, link and merge them. Pages and JSON API.

A profile page answers "who am I talking to": the person's accounts on each
platform, their mentions newest first with the replies sent, and how their mood
went over time. Below it, the work on the profile itself: suggested links to
confirm or dismiss, merging it into another profile, and undoing a merge.

Every action is the same call to ``listener.profiles`` from the page and from the
API; the acting staff member's email is what the profile history records.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session

from listener.links import http_url
from listener.models import CustomerProfile, Identity, ProfileMerge, StaffUser
from listener.platforms import display_handle
from listener.profiles.link_suggestions import (
    SuggestionView,
    confirm_suggestion,
    dismiss_suggestion,
    list_suggestions,
)
from listener.profiles.merging import merge_profiles, merges_of, unmerge
from listener.profiles.store import TIERS, ProfileSummary, get_profile, identities_of, list_profiles, live_profile
from listener.profiles.timeline import SENTIMENT_LABELS, TimelineEntry, TrendPoint, profile_timeline, sentiment_trend
from responders.audit import jsonable
from responders.digests.render import COLOURS
from responders.roles import Action
from responders.web.deps import BodyId, Offset, Reader, RecordId, SessionDep, SettingsDep, allowed
from responders.web.pages import after_post, page

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["profiles"])

ProfileManager = Annotated[StaffUser, allowed(Action.MANAGE_PROFILES)]
Bucket = Literal["day", "week", "month"]
Tier = Literal[TIERS]  # type: ignore[valid-type]  # the API documents the tiers; the page's form also sends ""

TIMELINE_LIMIT = 50
MAX_TIMELINE_LIMIT = 500
SUGGESTIONS_SHOWN = 20
MAX_SEARCH = 1000  # as the inbox's: longer than any name, and short of SQLite's limit on a LIKE pattern
MERGE_CANDIDATES = 10


# -- what the pages and the API show ----------------------------------------------------------


@dataclass
class MergeRow:
    """One merge the profile took part in, with both profiles' names (read in one query)."""

    merge: ProfileMerge
    survivor_name: str
    merged_name: str

    @property
    def undone(self) -> bool:
        return self.merge.undone_at is not None


@dataclass
class ProfileView:
    """Everything the profile page shows. A merged-away profile shows only where it went and its merges."""

    profile: CustomerProfile
    merged_into: CustomerProfile | None
    identities: list[Identity]
    timeline: list[TimelineEntry]
    has_more: bool
    trend: list[TrendPoint]
    suggestions: list[SuggestionView]
    merges: list[MergeRow]


def profile_view(db: Session, profile_id: int, timeline_limit: int = TIMELINE_LIMIT,
                 bucket: str = "week") -> ProfileView:
    """The profile, its accounts, its latest mentions, its sentiment trend, open suggestions and merges."""
    profile = get_profile(db, profile_id)
    merges = merge_rows(db, merges_of(db, profile_id))
    if profile.merged_into_id is not None:
        # Its accounts and mentions now belong to the survivor: show the way there, not a copy.
        return ProfileView(profile, live_profile(db, profile_id), [], [], False, [], [], merges)
    timeline = profile_timeline(db, profile_id, limit=timeline_limit + 1)
    return ProfileView(
        profile, None, identities_of(db, profile_id), timeline[:timeline_limit], len(timeline) > timeline_limit,
        sentiment_trend(db, profile_id, bucket),
        list_suggestions(db, profile_id=profile_id, limit=SUGGESTIONS_SHOWN), merges,
    )


def merge_rows(db: Session, merges: list[ProfileMerge]) -> list[MergeRow]:
    """Newest first, so the merge that can be undone first is on top."""
    ids = {m.survivor_id for m in merges} | {m.merged_id for m in merges}
    names = dict(db.execute(
        select(CustomerProfile.id, CustomerProfile.display_name).where(CustomerProfile.id.in_(ids))  # type: ignore[union-attr]
    ).all()) if ids else {}
    return [MergeRow(m, names.get(m.survivor_id, "?"), names.get(m.merged_id, "?")) for m in reversed(merges)]


@dataclass
class MergeCandidate:
    """A profile found to merge this one into, with its accounts as their platforms write them."""

    summary: ProfileSummary
    handles: list[str]

    @property
    def label(self) -> str:
        """``Raj P. (u/raj)``: what the merge confirmation names."""
        return named_with_handles(self.summary.display_name, self.handles)


def named_with_handles(name: str, handles: list[str]) -> str:
    return f"{name} ({', '.join(handles)})" if handles else name


def handles_of(db: Session, profile_ids: list[int]) -> dict[int, list[str]]:
    """Each profile's accounts (``@raj_codes``, ``u/raj``), oldest link first, in one query."""
    rows = db.execute(
        select(Identity.profile_id, Identity.platform, Identity.handle)
        .where(Identity.profile_id.in_(profile_ids)).order_by(Identity.id)  # type: ignore[attr-defined]
    ).all() if profile_ids else []
    found: dict[int, list[str]] = {profile_id: [] for profile_id in profile_ids}
    for profile_id, platform, handle in rows:
        found[profile_id].append(display_handle(platform, handle))
    return found


def merge_candidates(db: Session, search: str) -> list[MergeCandidate]:
    """Live profiles matching ``search`` (name, handle or CRM id), to pick the one a profile is merged into."""
    found = list_profiles(db, search=search.strip(), limit=MERGE_CANDIDATES) if search.strip() else []
    handles = handles_of(db, [summary.id for summary in found])
    return [MergeCandidate(summary, handles[summary.id]) for summary in found]


def trend_chart(points: list[TrendPoint], bucket: str) -> dict[str, Any]:
    """A Chart.js config: mentions per label as stacked bars, the net sentiment (−100..100) as a line."""
    labels = [point.period_start.isoformat() for point in points]
    datasets: list[dict[str, Any]] = [
        {"type": "bar", "label": label, "data": [point.counts.get(label, 0) for point in points],
         "backgroundColor": COLOURS[label], "stack": "mentions", "yAxisID": "y", "order": 2}
        for label in (*SENTIMENT_LABELS, "unscored")
        if any(point.counts.get(label) for point in points)
    ]
    datasets.append({
        "type": "line", "label": "net sentiment", "yAxisID": "net", "order": 1, "borderColor": "#1d2430",
        "backgroundColor": "#1d2430", "spanGaps": True,
        "data": [None if point.net is None else round(100 * point.net, 1) for point in points],
    })
    return {
        "type": "bar",
        "data": {"labels": labels, "datasets": datasets},
        "options": {
            "responsive": True, "maintainAspectRatio": False, "interaction": {"mode": "index", "intersect": False},
            "scales": {
                "x": {"stacked": True, "title": {"display": True, "text": f"{bucket} starting"}},
                "y": {"stacked": True, "beginAtZero": True, "title": {"display": True, "text": "mentions"},
                      "ticks": {"precision": 0}},
                "net": {"position": "right", "min": -100, "max": 100, "grid": {"drawOnChartArea": False},
                        "title": {"display": True, "text": "net sentiment"}},
            },
        },
    }


def _tier(tier: str | None) -> str | None:
    if tier and tier not in TIERS:
        raise HTTPException(422, f"tier: one of {', '.join(TIERS)}")
    return tier or None


# -- pages -------------------------------------------------------------------------------------


@router.get("/profiles")
def profiles_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    user: Reader,
    q: Annotated[str, Query(max_length=MAX_SEARCH)] = "",
    tier: str = "",
    customers: bool = False,
    offset: Offset = 0,
) -> Response:
    limit = settings.web.page_size
    found = list_profiles(db, search=q.strip() or None, tier=_tier(tier), include_prospects=not customers,
                          limit=limit + 1, offset=offset)
    kept = {key: value for key, value in (("q", q), ("tier", tier), ("customers", "1" if customers else "")) if value}
    return page(request, "profiles.html", {
        "nav": "profiles", "profiles": found[:limit], "has_more": len(found) > limit, "offset": offset,
        "limit": limit, "q": q, "tier": tier, "customers": customers, "tiers": TIERS, "kept": kept,
        "suggestions": list_suggestions(db, limit=SUGGESTIONS_SHOWN),
    })


@router.get("/profiles/{profile_id}")
def profile_page(
    request: Request,
    profile_id: RecordId,
    db: SessionDep,
    user: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_TIMELINE_LIMIT)] = TIMELINE_LIMIT,
    bucket: Bucket = "week",
    merge_q: Annotated[str, Query(max_length=MAX_SEARCH, description="find the profile to merge this one into")] = "",
) -> Response:
    view = profile_view(db, profile_id, limit, bucket)
    return page(request, "profile.html", {
        "nav": "profiles", "view": view, "profile": view.profile, "limit": limit, "bucket": bucket,
        "more_limit": min(limit * 2, MAX_TIMELINE_LIMIT),
        "chart": json.dumps(trend_chart(view.trend, bucket)) if view.trend else None,
        "merge_q": merge_q, "merge_candidates": merge_candidates(db, merge_q),
        "this_label": named_with_handles(view.profile.display_name,
                                         [display_handle(i.platform, i.handle) for i in view.identities]),
    })


@router.post("/profiles/suggestions/{suggestion_id}/confirm")
def confirm(request: Request, suggestion_id: RecordId, db: SessionDep, user: ProfileManager,
            survivor_id: Annotated[int | None, Form()] = None) -> Response:
    merge = confirm_suggestion(db, suggestion_id, by=user.email, survivor_id=survivor_id)
    db.commit()
    return after_post(request, "/profiles", to=f"/profiles/{merge.survivor_id}")


@router.post("/profiles/suggestions/{suggestion_id}/dismiss")
def dismiss(request: Request, suggestion_id: RecordId, db: SessionDep, user: ProfileManager) -> Response:
    dismiss_suggestion(db, suggestion_id, by=user.email)
    db.commit()
    return after_post(request, "/profiles")


@router.post("/profiles/{profile_id}/merge")
def merge(request: Request, profile_id: RecordId, db: SessionDep, user: ProfileManager,
          into: Annotated[int, Form()]) -> Response:
    """Merge this profile into ``into``; the page goes on to the survivor, where everything now is."""
    done = merge_profiles(db, into, profile_id, by=user.email)
    db.commit()
    return after_post(request, f"/profiles/{profile_id}", to=f"/profiles/{done.survivor_id}")


@router.post("/profiles/merges/{merge_id}/undo")
def undo_merge(request: Request, merge_id: RecordId, db: SessionDep, user: ProfileManager) -> Response:
    result = unmerge(db, merge_id, by=user.email)
    db.commit()
    return after_post(request, f"/profiles/{result.merge.survivor_id}")


# -- JSON API ----------------------------------------------------------------------------------


class MergeRequest(BaseModel):
    into: BodyId = Field(description="the profile that remains; this one's accounts and mentions move to it")


class Confirmation(BaseModel):
    survivor_id: BodyId | None = Field(
        None, description="which of the pair remains (default: the imported customer, else the older profile)")


def summary_json(summary: ProfileSummary) -> dict[str, Any]:
    return asdict(summary)


def profile_json(profile: CustomerProfile) -> dict[str, Any]:
    return jsonable(profile.model_dump())


def suggestion_view_json(view: SuggestionView) -> dict[str, Any]:
    return jsonable(asdict(view))


def merge_json(merge: ProfileMerge) -> dict[str, Any]:
    # ``before``/``after`` are the undo snapshot: internal, and large for a busy profile.
    return jsonable(merge.model_dump(exclude={"before", "after"}))


@api.get("/profiles")
def api_profiles(
    db: SessionDep,
    user: Reader,
    q: Annotated[str | None, Query(max_length=MAX_SEARCH, description=(
        "part of a name, part of a handle typed with or without its platform's prefix (@, u/), or a CRM id"))] = None,
    tier: Tier | None = None,
    customers: Annotated[bool, Query(description="only imported customers, no prospects")] = False,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Live profiles, newest first: by name, handle or CRM id (``q``), of one tier."""
    found = list_profiles(db, search=(q or "").strip() or None, tier=_tier(tier), include_prospects=not customers,
                          limit=limit + 1, offset=offset)
    return {"items": [summary_json(s) for s in found[:limit]], "offset": offset, "limit": limit,
            "has_more": len(found) > limit}


@api.get("/profiles/{profile_id}")
def api_profile(
    profile_id: RecordId,
    db: SessionDep,
    user: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_TIMELINE_LIMIT, description="timeline entries")] = TIMELINE_LIMIT,
    bucket: Bucket = "week",
) -> dict[str, Any]:
    """The profile with its identities, recent timeline (newest first), sentiment trend, suggestions and merges."""
    view = profile_view(db, profile_id, limit, bucket)
    return {
        "profile": profile_json(view.profile),
        "merged_into": view.merged_into.id if view.merged_into else None,
        "identities": [jsonable(i.model_dump()) for i in view.identities],
        "timeline": [jsonable(asdict(entry) | {"url": http_url(entry.url)}) for entry in view.timeline],
        "timeline_has_more": view.has_more,
        "trend": [jsonable(asdict(point)) for point in view.trend],
        "suggestions": [suggestion_view_json(s) for s in view.suggestions],
        "merges": [merge_json(row.merge) for row in view.merges],
    }


@api.post("/profile-suggestions/{suggestion_id}/confirm")
def api_confirm(suggestion_id: RecordId, db: SessionDep, user: ProfileManager,
                body: Confirmation | None = None) -> dict[str, Any]:
    """Confirm a suggested link: the two profiles are merged (undoable)."""
    merge = confirm_suggestion(db, suggestion_id, by=user.email, survivor_id=body.survivor_id if body else None)
    db.commit()
    return merge_json(merge)


@api.post("/profile-suggestions/{suggestion_id}/dismiss")
def api_dismiss(suggestion_id: RecordId, db: SessionDep, user: ProfileManager) -> dict[str, Any]:
    """Dismiss a suggested link: the pair is never proposed again."""
    suggestion = dismiss_suggestion(db, suggestion_id, by=user.email)
    db.commit()
    return jsonable(suggestion.model_dump())


@api.post("/profiles/{profile_id}/merge")
def api_merge(profile_id: RecordId, body: MergeRequest, db: SessionDep, user: ProfileManager) -> dict[str, Any]:
    """Merge this profile into ``into`` (recorded, undoable)."""
    merge = merge_profiles(db, body.into, profile_id, by=user.email)
    db.commit()
    return merge_json(merge)


@api.post("/profile-merges/{merge_id}/undo")
def api_undo(merge_id: RecordId, db: SessionDep, user: ProfileManager) -> dict[str, Any]:
    """Undo a merge; ``kept_later_edits`` names the survivor's fields edited since, which keep their value."""
    result = unmerge(db, merge_id, by=user.email)
    db.commit()
    return {"merge": merge_json(result.merge), "kept_later_edits": result.kept_later_edits}
