"""The root of Harken's own errors.

Every domain error (a setting, a profile, a reply's workflow, a role, a digest, a
collector, a publisher...) derives from :class:`HarkenError`, so a caller can tell
"Harken refused this, and the message says why" from a bug. The CLI
(``responders.cli.support.EXIT_CODES``) and the web app
(``responders.web.errors.ERROR_STATUSES``) each turn them into answers from one table.
"""

from __future__ import annotations


class HarkenError(Exception):
    """Base of every error Harken raises on purpose; its message is one line for the person who caused it."""
