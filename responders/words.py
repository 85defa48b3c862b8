"""The words people read for Harken's internal names: one place, used by the templates and the error messages.

Records carry short machine names (``pending_approval``, ``reply.draft``, ``system:sender``, a model's
version hash). They stay as they are in the database, the API's JSON and the audit export; a page or an
error message says them in plain words through this module instead. ``tests/responders/test_words.py``
fails when a status or an audit action is added without its words here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from jinja2 import Environment

from listener.statuses import (
    APPROVED,
    ASSIGNED,
    DRAFT,
    FAILED,
    IGNORED,
    LINK_CONFIRMED,
    LINK_DISMISSED,
    LINK_OPEN,
    LINK_SUPERSEDED,
    NEEDS_REPLY,
    NEW,
    PENDING,
    REJECTED,
    RESOLVED,
    SENDING,
    SENT,
    WAITING,
)

MENTION_STATUS_WORDS: dict[str, str] = {
    NEW: "new",
    NEEDS_REPLY: "needs a reply",
    ASSIGNED: "assigned",
    WAITING: "waiting for the customer",
    RESOLVED: "resolved",
    IGNORED: "ignored",
}

REPLY_STATE_WORDS: dict[str, str] = {
    DRAFT: "a draft",
    PENDING: "waiting for approval",
    APPROVED: "approved",
    SENDING: "being sent",
    SENT: "sent",
    REJECTED: "rejected",
    FAILED: "not sent (failed)",
}

LINK_STATUS_WORDS: dict[str, str] = {
    LINK_OPEN: "to review",
    LINK_CONFIRMED: "confirmed",
    LINK_DISMISSED: "dismissed",
    LINK_SUPERSEDED: "replaced by a newer suggestion",
}

ACTION_WORDS: dict[str, str] = {
    # What someone did, said after their name: "Pat approved this reply".
    "mention.assign": "assigned this mention",
    "mention.status": "changed the status of this mention",
    "mention.sentiment": "corrected the sentiment of this mention",
    "note.added": "added an internal note",
    "note.deleted": "deleted an internal note",
    "source.create": "added this source",
    "source.edit": "edited this source",
    "source.pause": "paused this source",
    "source.resume": "resumed this source",
    "source.run_now": "asked for this source to run now",
    "reply.draft": "drafted a reply",
    "reply.revise": "revised this draft",
    "reply.submit": "sent this reply for approval",
    "reply.edit": "edited this reply",
    "reply.approve": "approved this reply",
    "reply.reject": "rejected this reply",
    "reply.retry": "sent this reply again",
    "reply.sending": "started sending this reply",
    "reply.sent": "sent this reply",
    "reply.failed": "could not send this reply",
    "reply.send_uncertain": "could not confirm the sending of this reply",
    "suggestion.drafted": "wrote a suggested reply",
    "draft.discarded": "discarded a suggested reply that failed its checks",
    "draft.failed": "could not write a suggested reply",
    "profile.merge": "merged two customer profiles",
    "profile.unmerge": "undid a profile merge",
    "profile_suggestion.dismiss": "dismissed a suggested profile link",
    "user.create": "added a staff account",
    "user.role": "changed a staff member's role",
    "user.activate": "reactivated a staff account",
    "user.deactivate": "deactivated a staff account",
    "user.password": "set a password",
    "user.sign_in": "signed in",
    "staff.timezone": "changed their time zone",
    "token.create": "created an API token",
    "token.revoke": "revoked an API token",
    "settings.change": "noticed a change of settings",
}

SYSTEM_ACTOR_WORDS: dict[str, str] = {
    # Harken's own workers, recorded as ``system:<worker>`` (responders.audit).
    "system:triage": "Harken (triage rules)",
    "system:sender": "Harken (sender)",
    "system:config": "Harken (settings)",
    "system:drafts": "Harken (reply drafter)",
    "system:bootstrap": "Harken (set-up)",
    "system:cli": "Harken (command line)",
    "system:demo": "Harken (demo set-up)",
}

BUILT_IN_MODEL = "default"
"""The name the built-in sentiment model is recorded under (``mentions.sentiment_model``)."""


def _plain(name: str) -> str:
    """A name this module does not know yet, still without underscores or dots."""
    return name.replace("_", " ").replace(".", " ")


def status_word(status: str | None) -> str:
    """A mention's status as people say it: ``needs_reply`` -> "needs a reply"."""
    return MENTION_STATUS_WORDS.get(status or "", _plain(status or ""))


def reply_state_word(state: str | None) -> str:
    """A reply's state as people say it: ``pending_approval`` -> "waiting for approval"."""
    return REPLY_STATE_WORDS.get(state or "", _plain(state or ""))


def link_status_word(status: str | None) -> str:
    return LINK_STATUS_WORDS.get(status or "", _plain(status or ""))


def action_words(action: str, after: Mapping[str, object] | None = None) -> str:
    """What an audit event says someone did; a status change names the new status."""
    if action == "mention.status" and after and after.get("status"):
        return f"set this mention to {status_word(str(after['status']))}"
    if action == "mention.assign" and after is not None and "assignee" in after and not after["assignee"]:
        return "unassigned this mention"
    return ACTION_WORDS.get(action, _plain(action))


def is_system_actor(actor: str) -> bool:
    return actor.startswith("system:")


def actor_words(actor: str, names: Mapping[str, str] | None = None) -> str:
    """Who acted: a staff member by name when known (else their email), Harken's workers as Harken."""
    if is_system_actor(actor):
        return SYSTEM_ACTOR_WORDS.get(actor, "Harken")
    return (names or {}).get(actor) or actor


def model_words(name: str | None) -> str:
    """The sentiment model as a reader knows it; its version hash stays in the API and the export."""
    if not name:
        return ""
    return "Harken's built-in model" if name == BUILT_IN_MODEL else f"the model {name}"


def states_words(states: Iterable[str]) -> str:
    """A list of reply states in words, for messages: "waiting for approval or approved"."""
    words = [reply_state_word(state) for state in states]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def install(env: Environment) -> None:
    """Give a Jinja environment these words as filters: ``{{ mention.status | status_word }}``."""
    env.filters.update(status_word=status_word, reply_state_word=reply_state_word, link_status_word=link_status_word,
                       actor_words=actor_words, model_words=model_words)
    env.globals["action_words"] = action_words
