"""Who may do what in the responder queue: one permission table, checked in one place.

Every write in ``responders`` calls :func:`require` with the acting staff user and
the action, so a route, a CLI command or a test cannot forget the check halfway.

========================  =====  ========  =======  =====
action                    agent  approver  manager  admin
========================  =====  ========  =======  =====
read (queue, replies)       ✓       ✓         ✓       ✓
triage (status, assign)     ✓       ✓                 ✓
draft a reply               ✓       ✓                 ✓
submit for approval         ✓       ✓                 ✓
manage customer profiles    ✓       ✓                 ✓
approve                             ✓
edit a pending reply                ✓
reject                              ✓
retry a failed send                 ✓
read the audit log                            ✓       ✓
read digests                                  ✓       ✓
manage staff users                                    ✓
change settings                                       ✓
========================  =====  ========  =======  =====

Approvers and admins have the agents' triage rights. Those include managing customer
profiles (confirming or dismissing a suggested link, merging, undoing a merge): the
people who answer are the ones who notice that two profiles are one person. Admins run
the system but do not approve what is posted: approving stays with the approvers, so
that managing accounts never doubles as a way around the approval. Managers read
everything and change nothing. An inactive user may do nothing at all.
"""

from __future__ import annotations

from enum import StrEnum

from listener.errors import HarkenError
from listener.models import StaffUser


class Role(StrEnum):
    AGENT = "agent"
    APPROVER = "approver"
    MANAGER = "manager"
    ADMIN = "admin"


class Action(StrEnum):
    READ = "read"
    TRIAGE = "triage"
    DRAFT = "draft"
    SUBMIT = "submit"
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    RETRY = "retry"
    READ_AUDIT = "read_audit"
    READ_DIGESTS = "read_digests"
    MANAGE_PROFILES = "manage_profiles"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"


_TRIAGE = frozenset({Action.READ, Action.TRIAGE, Action.DRAFT, Action.SUBMIT, Action.MANAGE_PROFILES})

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.AGENT: _TRIAGE,
    Role.APPROVER: _TRIAGE | {Action.APPROVE, Action.EDIT, Action.REJECT, Action.RETRY},
    Role.MANAGER: frozenset({Action.READ, Action.READ_AUDIT, Action.READ_DIGESTS}),
    Role.ADMIN: _TRIAGE | {Action.READ_AUDIT, Action.READ_DIGESTS, Action.MANAGE_USERS, Action.MANAGE_SETTINGS},
}
"""The table in the module docstring, as data: role -> the actions it may take."""


class PermissionDenied(HarkenError):
    """The user's role does not allow the action (or the user is inactive)."""

    def __init__(self, user: StaffUser, action: Action) -> None:
        reason = "is inactive" if not user.active else f"is {user.role}, which may not {action.value.replace('_', ' ')}"
        super().__init__(f"{user.email} {reason}")
        self.user = user
        self.action = action


class UnknownRole(HarkenError, ValueError):
    """A role name that is not agent, approver, manager or admin."""


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise UnknownRole(f"unknown role {value!r}: one of {', '.join(r.value for r in Role)}") from None


def can(user: StaffUser, action: Action) -> bool:
    """Whether ``user`` may take ``action`` now."""
    if not user.active:
        return False
    try:
        role = Role(user.role)
    except ValueError:
        return False  # a role this version does not know grants nothing
    return action in PERMISSIONS[role]


def require(user: StaffUser, action: Action) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` may take ``action``."""
    if not can(user, action):
        raise PermissionDenied(user, action)


def roles_allowed(action: Action) -> list[Role]:
    """The roles that may take ``action`` (for messages and the docs)."""
    return [role for role, actions in PERMISSIONS.items() if action in actions]
