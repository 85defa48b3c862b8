"""Saved views: a staff member names the inbox's current filters and gets them back in one click.

A view is the inbox's query string for its filters (never the page it was on), kept per
person: nobody sees, renames or deletes another's views, admins included.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from sqlmodel import Session

from listener.errors import HarkenError
from listener.models import SavedView, StaffUser

FILTER_KEYS: tuple[str, ...] = ("status", "platform", "sentiment", "priority", "assignee", "since", "until", "q",
                                "source", "overdue")
"""The inbox's filters, as its query string names them (responders.web.routes.inbox.inbox_filter)."""
MAX_NAME = 80


class SavedViewError(HarkenError, ValueError):
    """A view that cannot be saved as asked (no name, a name already taken)."""


class SavedViewNotFound(HarkenError, LookupError):
    """No view of this id among the person's own."""


def filters_query(query: str) -> str:
    """The filters of an inbox query string, in a stable order, without empty values or the page."""
    pairs = [(key, value.strip()) for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True)]
    kept = [(key, value) for key, value in pairs if key in FILTER_KEYS and value]
    return urlencode(sorted(kept, key=lambda pair: FILTER_KEYS.index(pair[0])))


def views_of(session: Session, user: StaffUser) -> list[SavedView]:
    """The person's own views, by name."""
    return list(session.execute(
        select(SavedView).where(SavedView.user_id == user.id).order_by(SavedView.name, SavedView.id)  # type: ignore[arg-type]
    ).scalars())


def own_view(session: Session, user: StaffUser, view_id: int) -> SavedView:
    """One of the person's views; another's is as missing as one that never was."""
    view = session.get(SavedView, view_id)
    if view is None or view.user_id != user.id:
        raise SavedViewNotFound(f"you have no saved view {view_id}")
    return view


def save_view(session: Session, user: StaffUser, name: str, query: str) -> SavedView:
    """A new view of the filters in ``query`` (an inbox query string), named ``name``."""
    view = SavedView(user_id=user.id, name=_checked_name(session, user, name), query=filters_query(query))  # type: ignore[arg-type]
    session.add(view)
    session.flush()
    return view


def rename_view(session: Session, user: StaffUser, view_id: int, name: str) -> SavedView:
    view = own_view(session, user, view_id)
    view.name = _checked_name(session, user, name, view_id)
    session.add(view)
    session.flush()
    return view


def delete_view(session: Session, user: StaffUser, view_id: int) -> None:
    session.delete(own_view(session, user, view_id))
    session.flush()


def _checked_name(session: Session, user: StaffUser, name: str, view_id: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise SavedViewError("give the view a name")
    if len(name) > MAX_NAME:
        raise SavedViewError(f"a view's name is at most {MAX_NAME} characters; this one has {len(name)}")
    taken = session.execute(
        select(SavedView.id).where(SavedView.user_id == user.id, SavedView.name == name)  # type: ignore[arg-type]
    ).scalar()
    if taken is not None and taken != view_id:
        raise SavedViewError(f"you already have a view named {name!r}: choose another name, or rename that one")
    return name
