"""``harken queue``: the responder queue for operators.

Commands that change something take ``--as EMAIL``: the staff user acting, whose
role (``responders.roles``) decides whether they may, and who is recorded in the
audit log. Reading the queue needs no ``--as``: whoever can run ``harken`` against
the database can read it anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Mention
from listener.platforms import platform_names
from listener.settings import Settings
from responders import staff, triage, workflow
from responders.cli.support import ActingAs, acting, console, errors, fail, get_settings, ready
from responders.mention_queue import MentionNotFound, list_queue, list_replies, mention_detail
from responders.rules import CONDITIONS, PLACEHOLDERS, RulesFileError, load_reply_rules

queue_app = typer.Typer(help="The responder queue: triage, draft, approve, send.", no_args_is_help=True)

def _mention(session: Session, mention_id: int) -> Mention:
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise MentionNotFound(f"no mention {mention_id}")
    return mention


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    delta = moment - utcnow()
    minutes = int(delta.total_seconds() // 60)
    if abs(minutes) < 90:
        label = f"{abs(minutes)}m"
    elif abs(minutes) < 48 * 60:
        label = f"{abs(minutes) // 60}h"
    else:
        label = f"{abs(minutes) // 1440}d"
    return f"in {label}" if minutes >= 0 else f"[red]{label} late[/red]"


def _short(text: str, width: int = 70) -> Text:
    flat = " ".join(text.split())
    return Text(flat if len(flat) <= width else flat[: width - 1] + "…")


# -- queue ---------------------------------------------------------------------------------


@queue_app.command("list")
def queue_list(
    status: Annotated[list[str] | None, typer.Option("--status", help="Repeatable; default: new, needs_reply, "
                                                     "assigned.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only this staff user's mentions.")] = None,
    platform: Annotated[str | None, typer.Option(help=f"One of: {', '.join(platform_names())}.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """What needs an answer, most urgent first."""
    _, engine = ready()
    with acting(engine) as (session, _):
        items = list_queue(session, status or triage.NEEDS_ANSWER, assignee, platform, limit)
    table = Table(title=f"Queue ({len(items)})")
    for column in ("id", "prio", "level", "SLA", "status", "platform", "author", "tier", "mood", "reply", "text"):
        table.add_column(column, justify="right" if column in {"id", "prio"} else "left")
    for item in items:
        table.add_row(
            str(item.mention_id), f"{item.priority:.0f}" if item.priority is not None else "",
            item.priority_level or "", _when(item.sla_due_at), item.status
            + (f" → {item.assignee}" if item.assignee else ""), item.platform, item.author or "",
            item.tier or "", item.sentiment or "", f"{item.reply_id} {item.reply_state}" if item.reply_id else "",
            _short(item.text, 60),
        )
    console.print(table)


@queue_app.command("show")
def queue_show(mention_id: int) -> None:
    """One mention: who, what, priority, suggestions, replies with their approvals, and its history."""
    _, engine = ready()
    with acting(engine) as (session, _):
        detail = mention_detail(session, mention_id)
    m = detail.mention
    console.print(f"[bold]Mention {m.id}[/bold] on {m.platform} ({m.kind}) {m.url}")
    console.print(Text(m.text))
    author = detail.author
    followers = author.followers if author and author.followers is not None else "?"
    tier = detail.profile.tier if detail.profile else "standard"
    console.print(
        f"author: {author.handle if author else '?'} ({followers} followers)  tier: {tier}  sentiment: "
        f"{m.sentiment_label or '-'} {m.sentiment_confidence or ''}"
    )
    console.print(f"status: {m.status}  assignee: {detail.assignee.email if detail.assignee else '-'}  priority: "
                  f"{m.priority} ({m.priority_level})  SLA due: {m.sla_due_at} {_when(m.sla_due_at)}"
                  + (f"  triage: {m.triage_reason}" if m.triage_reason else ""))
    if detail.suggestions:
        table = Table(title="Suggestions")
        for column in ("rank", "score", "origin", "text"):
            table.add_column(column)
        for s in detail.suggestions:
            origin = (f"rule {s.rule}" if s.origin == "rule" else f"draft by model {s.model}" if s.origin == "draft"
                      else f"like mention {s.similar_mention_id}")
            table.add_row(str(s.rank), f"{s.score:.2f}", origin, Text(s.text))
        console.print(table)
    for reply in detail.replies:
        approvals = [email for revision, email in detail.approvals.get(reply.id or 0, []) if revision == reply.revision]
        console.print(f"[bold]Reply {reply.id}[/bold]: {reply.state}"
                      + (f" (high risk: {reply.required_approvals} approvers)" if reply.high_risk else "")
                      + (f"; approved by {', '.join(approvals)}" if approvals else "")
                      + (f"; posted as {reply.platform_reply_id}" if reply.platform_reply_id else ""))
        console.print(Text(reply.text))
        if reply.original_text is not None:
            console.print(Text(f"  (as submitted: {reply.original_text})", style="dim"))
        if reply.rejected_reason:
            console.print(f"  rejected: {reply.rejected_reason}")
        if reply.error:
            console.print(Text(f"  platform: {reply.error}", style="red"))
    if detail.history:
        table = Table(title="History")
        for column in ("at", "who", "what", "object", "after"):
            table.add_column(column)
        for event in detail.history:
            table.add_row(event.at.strftime("%Y-%m-%d %H:%M:%S"), event.actor, event.action,
                          f"{event.object_type} {event.object_id}", _short(str(event.after), 60))
        console.print(table)


@queue_app.command("replies")
def queue_replies(
    state: Annotated[list[str] | None, typer.Option("--state", help="Repeatable; default: pending_approval.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """Replies by state: by default, those waiting for approval."""
    _, engine = ready()
    with acting(engine) as (session, _):
        replies = list_replies(session, state or [workflow.PENDING], limit)
    table = Table(title=f"Replies ({len(replies)})")
    for column in ("id", "mention", "state", "approvals needed", "text", "error"):
        table.add_column(column)
    for reply in replies:
        table.add_row(str(reply.id), str(reply.mention_id), reply.state, str(reply.required_approvals),
                      _short(reply.text, 70), _short(reply.error or "", 40))
    console.print(table)


@queue_app.command("draft")
def queue_draft(
    mention_id: int,
    actor: ActingAs,
    text: Annotated[str | None, typer.Option("--text", help="The reply text.")] = None,
    suggestion: Annotated[int | None, typer.Option("--suggestion", help="Use suggestion of this rank.")] = None,
    submit_now: Annotated[bool, typer.Option("--submit", help="Submit it for approval at once.")] = False,
) -> None:
    """Draft a reply, from your own text or from a suggestion (one click: --suggestion 1 --submit)."""
    settings, engine = ready()
    if (text is None) == (suggestion is None):
        raise fail("give exactly one of --text or --suggestion", 2)
    with acting(engine, actor) as (session, user):
        assert user is not None
        mention = _mention(session, mention_id)
        suggestion_id = None
        if suggestion is not None:
            chosen = next((s for s in mention_detail(session, mention_id).suggestions if s.rank == suggestion), None)
            if chosen is None:
                raise workflow.WorkflowError(f"mention {mention_id} has no suggestion of rank {suggestion}")
            text, suggestion_id = chosen.text, chosen.id
        reply = workflow.create_draft(session, mention, text or "", user, suggestion_id)
        if submit_now:
            workflow.submit(session, settings, reply, user)
    console.print(f"Reply {reply.id} is {reply.state}.")


@queue_app.command("revise")
def queue_revise(reply_id: int, actor: ActingAs, text: Annotated[str, typer.Option("--text")]) -> None:
    """Change a draft's text."""
    _, engine = ready()
    with acting(engine, actor) as (session, user):
        reply = workflow.revise(session, workflow.get_reply(session, reply_id), text, user)  # type: ignore[arg-type]
    console.print(f"Reply {reply.id} revised.")


@queue_app.command("submit")
def queue_submit(reply_id: int, actor: ActingAs) -> None:
    """Submit a draft for approval."""
    settings, engine = ready()
    with acting(engine, actor) as (session, user):
        reply = workflow.submit(session, settings, workflow.get_reply(session, reply_id), user)  # type: ignore[arg-type]
    needs = f"{reply.required_approvals} approvers (high risk)" if reply.high_risk else "1 approver"
    console.print(f"Reply {reply.id} is waiting for approval: needs {needs}.")


@queue_app.command("approve")
def queue_approve(
    reply_id: int,
    actor: ActingAs,
    edit_text: Annotated[str | None, typer.Option("--edit", help="Edit the text first (the original is kept).")] = None,
) -> None:
    """Approve a reply (optionally editing it); it is sent once enough approvers have approved."""
    settings, engine = ready()
    with acting(engine, actor) as (session, user):
        reply = workflow.get_reply(session, reply_id)
        workflow.approve(session, settings, reply, user, edit_text)  # type: ignore[arg-type]
        count = len(workflow.approvals(session, reply))
    if reply.state == workflow.APPROVED:
        console.print(f"Reply {reply.id} is approved; the sender will post it (or run `harken queue send`).")
    else:
        console.print(f"Reply {reply.id}: {count} of {reply.required_approvals} approvals; another approver must "
                      "approve it too.")


@queue_app.command("reject")
def queue_reject(reply_id: int, actor: ActingAs, reason: Annotated[str, typer.Option("--reason")]) -> None:
    """Reject a reply, saying why; it will never be posted."""
    _, engine = ready()
    with acting(engine, actor) as (session, user):
        reply = workflow.reject(session, workflow.get_reply(session, reply_id), user, reason)  # type: ignore[arg-type]
    console.print(f"Reply {reply.id} is rejected.")


@queue_app.command("retry")
def queue_retry(
    reply_id: int,
    actor: ActingAs,
    send_now: Annotated[bool, typer.Option("--send/--no-send", help="Run the sender right away.")] = True,
) -> None:
    """Send a failed reply again."""
    settings, engine = ready()
    with acting(engine, actor) as (session, user):
        workflow.retry(session, workflow.get_reply(session, reply_id), user)  # type: ignore[arg-type]
    if send_now:
        _send(settings, engine)
    else:
        console.print(f"Reply {reply_id} is approved again; the sender will post it.")


def _send(settings: Settings, engine: Engine) -> None:
    from responders.sender import Sender

    report = Sender(engine, settings).send_pending()
    console.print(f"Sender: {report.summary()}.")
    if report.failed:
        with Session(engine) as session:
            for reply_id in report.failed:
                reply = workflow.get_reply(session, reply_id)
                errors.print(f"reply {reply_id} failed: {reply.error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@queue_app.command("send")
def queue_send() -> None:
    """Run the sender once: check interrupted sends, then post every approved reply exactly once."""
    settings, engine = ready()
    _send(settings, engine)


@queue_app.command("assign")
def queue_assign(
    mention_id: int,
    actor: ActingAs,
    to: Annotated[str | None, typer.Option("--to", help="The staff user's email.")] = None,
    nobody: Annotated[bool, typer.Option("--nobody", help="Unassign.")] = False,
) -> None:
    """Give a mention to someone (or to nobody)."""
    _, engine = ready()
    if (to is None) == (not nobody):
        raise fail("give exactly one of --to EMAIL or --nobody", 2)
    with acting(engine, actor) as (session, user):
        assignee = staff.find_user(session, to) if to else None
        mention = triage.assign(session, _mention(session, mention_id), assignee, user)  # type: ignore[arg-type]
    console.print(f"Mention {mention.id} is {mention.status}" + (f" ({to})." if to else "."))


@queue_app.command("status")
def queue_status(
    mention_id: int,
    status: str,
    actor: ActingAs,
    note: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
) -> None:
    """Set a mention's status: new, needs_reply, assigned, waiting, resolved, ignored."""
    _, engine = ready()
    with acting(engine, actor) as (session, user):
        mention = triage.set_status(session, _mention(session, mention_id), status, user, note)  # type: ignore[arg-type]
    console.print(f"Mention {mention.id} is {mention.status}.")


@queue_app.command("rules")
def queue_rules() -> None:
    """The reply rules in use, the conditions rules may test and the placeholders templates may use."""
    settings = get_settings()
    try:
        rules = load_reply_rules(settings.replies.rules_path)
    except RulesFileError as error:
        raise fail(str(error)) from None
    console.print(f"[bold]Reply rules[/bold] from {settings.replies.rules_path}")
    for rule in rules:
        console.print(f"  [bold]{rule.name}[/bold] (score {rule.rule.score}): {rule.rule.description}")
        for condition in rule.conditions:
            console.print(f"      when {condition.explain()}")
        console.print(f"      {len(rule.rule.templates)} template(s)")
    console.print("[bold]Conditions[/bold]")
    for condition in CONDITIONS:
        console.print(f"  {condition.key}: {condition.description}")
    console.print("[bold]Placeholders[/bold]")
    for name, description in PLACEHOLDERS.items():
        console.print(f"  {{{name}}}: {description}")


def register(app: typer.Typer) -> None:
    app.add_typer(queue_app, name="queue")


__all__ = ["register"]
