"""Sources managed by admins on /admin and under /api/v1/sources: add, edit, pause, resume, run now.

The changes themselves (checks, audit) are ``responders.source_controls``'; here they are read from the form
or the JSON body. A form's option fields are named ``options.<key>`` (the keys the kind's collector declares);
the add form holds one fieldset per kind, and only the chosen kind's is enabled, so only its fields are sent.
Every page POST ends in a redirect (or, from HTMX, a reload), so reloading the page repeats nothing; a refused
one changes nothing on the page, and ``static/errors.js`` shows why inside the form, beside what was typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from listener.db import utcnow
from listener.models import Source, StaffUser
from responders.roles import Action
from responders.source_controls import (
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    InvalidSource,
    KindChoice,
    add_source,
    edit_source,
    get_source,
    kind_choices,
    pause_source,
    request_run,
    resume_source,
)
from responders.web.deps import RecordId, SessionDep, allowed
from responders.web.pages import after_post
from responders.web.routes.admin import SourceRow, source_json, source_state

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["sources"])

SourceAdmin = Annotated[StaffUser, allowed(Action.MANAGE_SETTINGS)]
OPTION_PREFIX = "options."


def typed_options(form: FormData) -> dict[str, Any]:
    """The ``options.<key>`` fields of a form, as typed (a list where a key was sent more than once)."""
    options: dict[str, Any] = {}
    for key in {key for key in form if key.startswith(OPTION_PREFIX)}:
        values = [value for value in form.getlist(key) if isinstance(value, str)]
        options[key.removeprefix(OPTION_PREFIX)] = values[0] if len(values) == 1 else values
    return options


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _version(form: FormData) -> int | None:
    """The source's version the edit form was loaded with (``None`` when the form sent none)."""
    text = _text(form, "version").strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidSource(f"version {text[:20]!r} is not a whole number", "version")
    return int(text)


def one_source_json(source: Source) -> dict[str, Any]:
    return source_json(SourceRow(source, 0, source_state(source, utcnow())), with_last_day=False)


# -- pages -------------------------------------------------------------------------------------


@router.post("/admin/sources")
async def create(request: Request, db: SessionDep, user: SourceAdmin) -> Response:
    form = await request.form()
    add_source(db, user, platform=_text(form, "platform"), kind=_text(form, "kind"), name=_text(form, "name"),
               options=typed_options(form), interval_seconds=_text(form, "interval_seconds"))
    db.commit()
    return after_post(request, "/admin")


@router.post("/admin/sources/{source_id}")
async def edit(request: Request, source_id: RecordId, db: SessionDep, user: SourceAdmin) -> Response:
    form = await request.form()
    edit_source(db, user, get_source(db, source_id), options=typed_options(form),
                interval_seconds=_text(form, "interval_seconds"), version=_version(form))
    db.commit()
    return after_post(request, "/admin")


@router.post("/admin/sources/{source_id}/pause")
def pause(request: Request, source_id: RecordId, db: SessionDep, user: SourceAdmin) -> Response:
    pause_source(db, user, get_source(db, source_id))
    db.commit()
    return after_post(request, "/admin")


@router.post("/admin/sources/{source_id}/resume")
def resume(request: Request, source_id: RecordId, db: SessionDep, user: SourceAdmin) -> Response:
    resume_source(db, user, get_source(db, source_id))
    db.commit()
    return after_post(request, "/admin")


@router.post("/admin/sources/{source_id}/run")
def run_now(request: Request, source_id: RecordId, db: SessionDep, user: SourceAdmin) -> Response:
    request_run(db, user, get_source(db, source_id))
    db.commit()
    return after_post(request, "/admin")


# -- JSON API ----------------------------------------------------------------------------------

Interval = Field(ge=MIN_INTERVAL_SECONDS, le=MAX_INTERVAL_SECONDS,
                 description="seconds between runs: every 10 seconds to every 7 days")
Options = Field(default_factory=dict, description=(
    "what the kind collects, by the keys GET /api/v1/sources/kinds lists (e.g. query, subreddit, keywords); "
    "a list for the fields marked many"))


class NewSource(BaseModel):
    platform: str = Field(description="a platform of GET /api/v1/sources/kinds")
    kind: str = Field(description="one of that platform's kinds")
    name: str = Field("", description="how the source is called; empty: made from the platform, kind and options")
    options: dict[str, str | list[str]] = Options
    interval_seconds: int = Interval


class SourceChange(BaseModel):
    options: dict[str, str | list[str]] = Options
    interval_seconds: int = Interval
    version: int | None = Field(None, description=(
        "the source's `version` this edit was made on; when given and another admin edited the source since, "
        "the edit is refused (409) naming who"))


def kind_json(choice: KindChoice) -> dict[str, Any]:
    return {"platform": choice.platform, "platform_title": choice.platform_title, "kind": choice.kind,
            "description": choice.description,
            "fields": [{"key": field.key, "label": field.label, "many": field.many, "required": field.required,
                        "hint": field.hint} for field in choice.fields]}


@api.get("/sources/kinds")
def api_kinds(user: SourceAdmin) -> dict[str, Any]:
    """Every kind of source the platforms can collect, with the options each needs."""
    return {"items": [kind_json(choice) for choice in kind_choices()]}


@api.post("/sources", status_code=201)
def api_create(body: NewSource, db: SessionDep, user: SourceAdmin) -> dict[str, Any]:
    """A new source: the scheduler collects it within ``[scheduler] sources_check_seconds``."""
    source = add_source(db, user, platform=body.platform, kind=body.kind, name=body.name, options=body.options,
                        interval_seconds=body.interval_seconds)
    db.commit()
    return one_source_json(source)


@api.get("/sources/{source_id}")
def api_source(source_id: RecordId, db: SessionDep, user: SourceAdmin) -> dict[str, Any]:
    """One source: its options, state, last run and its outcome, whether a run is requested."""
    return one_source_json(get_source(db, source_id))


@api.put("/sources/{source_id}")
def api_edit(source_id: RecordId, body: SourceChange, db: SessionDep, user: SourceAdmin) -> dict[str, Any]:
    """New options and interval (platform and kind stay); start-ups no longer take it from the settings file."""
    source = edit_source(db, user, get_source(db, source_id), options=body.options,
                         interval_seconds=body.interval_seconds, version=body.version)
    db.commit()
    return one_source_json(source)


@api.post("/sources/{source_id}/pause")
def api_pause(source_id: RecordId, db: SessionDep, user: SourceAdmin) -> dict[str, Any]:
    """The scheduler stops collecting it until it is resumed."""
    source = pause_source(db, user, get_source(db, source_id))
    db.commit()
    return one_source_json(source)


@api.post("/sources/{source_id}/resume")
def api_resume(source_id: RecordId, db: SessionDep, user: SourceAdmin) -> dict[str, Any]:
    """Collected again, at once and then on its interval."""
    source = resume_source(db, user, get_source(db, source_id))
    db.commit()
    return one_source_json(source)


@api.post("/sources/{source_id}/run")
def api_run(source_id: RecordId, db: SessionDep, user: SourceAdmin) -> dict[str, Any]:
    """Run now: the scheduler collects it at its next check; ``run`` says "run requested" until then."""
    source = request_run(db, user, get_source(db, source_id))
    db.commit()
    return one_source_json(source)
