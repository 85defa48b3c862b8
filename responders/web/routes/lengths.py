"""``/api/v1/length``: a reply's length as its platform counts it (the reply boxes' counters ask here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from listener.models import StaffUser
from listener.platforms import UnknownPlatform
from responders.roles import Action
from responders.web.deps import allowed
from responders.web.reply_length import reply_length

api = APIRouter(prefix="/api/v1", tags=["replies"])

Drafter = Annotated[StaffUser, allowed(Action.DRAFT)]
LONGEST_TEXT = 100_000
"""Longer than any platform's limit many times over: a counter never needs more."""


class LengthQuestion(BaseModel):
    platform: str
    text: str = Field(default="", max_length=LONGEST_TEXT)


def _answer(platform: str, text: str) -> dict[str, Any]:
    try:
        return reply_length(platform, text).as_json()
    except UnknownPlatform as error:  # any string is a valid name; one no package registers is not found
        raise HTTPException(404, str(error)) from None


@api.get("/length")
def length_of(user: Drafter, platform: str,
              text: Annotated[str, Query(max_length=LONGEST_TEXT)] = "") -> dict[str, Any]:
    """How long ``text`` is as ``platform`` counts a reply, its limit and whether it is over."""
    return _answer(platform, text)


@api.post("/length")
def length_of_posted(user: Drafter, question: LengthQuestion) -> dict[str, Any]:
    """The same, for a text too long to put in a URL (the reply boxes always post)."""
    return _answer(question.platform, question.text)
