"""Named errors of the digests and alerts, so callers can tell a bad request from a failed delivery."""

from __future__ import annotations

from listener.errors import HarkenError


class DigestError(HarkenError):
    """Base class of every error raised by ``responders.digests``."""


class PeriodError(DigestError, ValueError):
    """A period that cannot be used: unparseable bounds, or an end not after its start."""


class DeliveryError(DigestError):
    """One attempt to deliver a message failed. The message is safe to store and log (no secrets)."""


class NotConfigured(DigestError):
    """A delivery was asked for, but no email recipients or webhook are configured."""
