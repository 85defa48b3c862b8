"""Exceptions raised by the platform simulators' Python API (never sent over HTTP)."""

from __future__ import annotations


class SimulatorError(Exception):
    """Base class for every error a simulator raises to its Python caller."""


class SimulatorNotRunningError(SimulatorError):
    """The simulator has no address yet: call ``start()`` (or use ``with``) first."""


class UnknownItemError(SimulatorError, LookupError):
    """An id or fullname that names nothing the simulator holds."""


class UnknownAccountError(UnknownItemError):
    """A handle or username that no account in the simulator carries."""


class CorpusError(SimulatorError, ValueError):
    """The corpus file is unreadable or one of its items is malformed.

    The message names the item's index so that a hand-edited corpus is quick to fix.
    """
