"""Shared set-up of the sender tests: simulators, settings pointing at them, a team, approved replies."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, Reply, StaffUser
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.settings import Settings
from responders import workflow
from tests.platforms import settings_for


def sender_settings(x: XSimulator, reddit: RedditSimulator, url: str, /, **sections: Any) -> Settings:
    sections.setdefault("replies", {}).setdefault("similar_replies", False)
    sections.setdefault("x", {}).setdefault("search_queries", [])
    return settings_for(x, reddit, url, **sections)


def reply_in_state(
    engine: Engine, settings: Settings, mention: Mention, text: str, state: str, agent: StaffUser,
    approvers: list[StaffUser],
) -> Reply:
    """Take a reply through the real workflow up to ``state`` (draft, pending_approval, approved, rejected)."""
    with Session(engine, expire_on_commit=False) as session:
        reply = workflow.create_draft(session, session.get(Mention, mention.id), text, agent)  # type: ignore[arg-type]
        if state != workflow.DRAFT:
            workflow.submit(session, settings, reply, agent)
        if state in (workflow.APPROVED, workflow.REJECTED):
            for approver in approvers[: reply.required_approvals]:
                workflow.approve(session, settings, reply, approver)
        if state == workflow.REJECTED:
            workflow.reject(session, reply, approvers[0], "changed our mind")
        session.commit()
        assert reply.state == state
        return reply
