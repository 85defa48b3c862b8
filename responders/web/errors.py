"""How the web app answers an error: one table from error class to HTTP status.

The first row whose class the error is an instance of gives the status, so the order
matters: a missing record (``LookupError``, also when it is a workflow or profile
error) is a 404 before it is a refused change (409). Errors in no row are bugs: the
server answers 500 and logs them.
"""

from __future__ import annotations

from listener.profiles.errors import ProfileError
from listener.sentiment.errors import CorrectionError
from responders.roles import PermissionDenied
from responders.source_controls import SourceError
from responders.staff import StaffError
from responders.triage import TriageError
from responders.versions import VersionConflict
from responders.workflow import WorkflowError

INTERNAL_ERROR = 500

ERROR_STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (KeyError, INTERNAL_ERROR),  # a bug, not a missing record: no reason to hide it as a 404
    (PermissionDenied, 403),
    (LookupError, 404),
    (VersionConflict, 409),  # someone changed the item since the person saw it
    (WorkflowError, 409),
    (TriageError, 409),
    (StaffError, 409),
    (SourceError, 409),
    (ProfileError, 409),
    (CorrectionError, 409),
    (ValueError, 409),  # a value the request gave that the domain refused
)
"""Error class -> HTTP status, first match wins."""

ANSWERED: tuple[type[Exception], ...] = tuple(error_class for error_class, _ in ERROR_STATUSES)


def status_for(error: Exception) -> int:
    """The HTTP status that answers ``error`` (500 for anything the table does not name)."""
    for error_class, status in ERROR_STATUSES:
        if isinstance(error, error_class):
            return status
    return INTERNAL_ERROR


def message_for(error: Exception, status: int) -> str:
    """What the person reads: the error's own one-line message, never a bug's details."""
    if status == INTERNAL_ERROR:
        return "internal error"
    # A LookupError raised with a key (KeyError-style) prints quoted; staff should not see the quotes.
    return str(error).strip("'\"") if status == 404 else str(error)
