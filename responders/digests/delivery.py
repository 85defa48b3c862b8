"""Notifiers, and deliveries that are recorded, retried and reported, never silently dropped.

A notifier is one small class per channel that describes itself, in the manner of
a Huginn agent: its ``channel`` and ``description``, whether the settings
configure it (:meth:`Notifier.for_kind`), what is wrong with its configuration
(:meth:`Notifier.validate`), whether it has been ``working`` lately, and one entry
point, :meth:`Notifier.send`, that raises :class:`DeliveryError` on failure.
Adding a channel is adding a class to :data:`NOTIFIERS`.

:func:`deliver` writes a ``deliveries`` row per notifier *before* the first attempt
and updates it after each one (attempts, last error), so a crash mid-way leaves a
pending row behind, not nothing. Attempts are retried at once with a doubling
back-off; what still fails is marked failed, logged at ERROR, listed by
``harken digest --status``, and tried again later by the redelivery job
(:func:`retry_due`) until ``max_attempts`` in all.

Secrets stay out of ``deliveries`` and logs: the SMTP password is a ``SecretStr``
used only for ``login``, and a webhook URL (Slack's carry a token) is stored and
shown as its scheme and host only.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import ClassVar
from urllib.parse import urlsplit

import requests
from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Delivery
from listener.safe_text import redact_url, redact_urls
from listener.settings import Settings
from responders.digests.errors import DeliveryError
from responders.digests.render import Message

log = logging.getLogger(__name__)

KINDS = ("digest", "alert")
# A pending row this old was left by a process that stopped mid-delivery.
STALE_PENDING = timedelta(minutes=30)


class Notifier(ABC):
    """One way of delivering a :class:`Message`."""

    channel: ClassVar[str]
    description: ClassVar[str]

    @classmethod
    @abstractmethod
    def for_kind(cls, settings: Settings, kind: str) -> Notifier | None:
        """The notifier the settings configure for digests or alerts, or ``None`` when they configure none."""

    @property
    @abstractmethod
    def target(self) -> str:
        """Where it delivers, safe to store and log (never a credential)."""

    def validate(self) -> list[str]:
        """What is wrong with the configuration, one line each (empty when nothing is)."""
        return []

    @abstractmethod
    def send(self, message: Message) -> str | None:
        """Deliver ``message`` once, or raise :class:`DeliveryError` with a message safe to store.

        Returns a note worth recording on a delivery that went through only in part
        (e.g. recipients the mail server refused), else ``None``.
        """

    def working(self, engine: Engine) -> bool | None:
        """Whether its latest finished delivery went through (``None`` before the first one)."""
        with Session(engine) as session:
            status = session.scalar(
                select(Delivery.status)
                .where(Delivery.channel == self.channel, Delivery.target == self.target,
                       Delivery.status.in_(("sent", "failed")))  # type: ignore[attr-defined]
                .order_by(Delivery.id.desc())  # type: ignore[union-attr]
                .limit(1)
            )
        return None if status is None else status == "sent"


class EmailNotifier(Notifier):
    """Sends the HTML email with its chart images and plain-text part through an SMTP server."""

    channel = "email"
    description = (
        "Email through the [digest] SMTP server (STARTTLS, implicit TLS or a plain local relay), "
        "to the [digest] recipients, or the [alerts] ones for alerts."
    )

    def __init__(self, settings: Settings, recipients: Sequence[str]) -> None:
        self.options = settings.digest
        self.recipients = list(recipients)

    @classmethod
    def for_kind(cls, settings: Settings, kind: str) -> EmailNotifier | None:
        recipients = settings.digest.recipients
        if kind == "alert" and settings.alerts.recipients:
            recipients = settings.alerts.recipients
        if not settings.digest.smtp_host or not recipients:
            return None
        return cls(settings, recipients)

    @property
    def target(self) -> str:
        return ", ".join(self.recipients)

    def validate(self) -> list[str]:
        problems = [f"recipient {r!r} is not an email address" for r in self.recipients if "@" not in r]
        if "@" not in self.options.sender:
            problems.append(f"sender {self.options.sender!r} is not an email address")
        if self.options.smtp_user and not self.options.smtp_password.get_secret_value():
            problems.append("smtp_user is set but smtp_password is empty (set HARKEN_DIGEST__SMTP_PASSWORD)")
        return problems

    def build(self, message: Message) -> EmailMessage:
        """multipart/alternative: text/plain, then multipart/related (text/html and its image/png parts)."""
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = self.options.sender
        email["To"] = ", ".join(self.recipients)
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = make_msgid(idstring=message.kind, domain="harken.local")
        email["X-Harken-Reference"] = f"{message.kind} {message.reference}"
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
            html_part = email.get_payload()[1]  # type: ignore[index]
            for image in message.images:
                html_part.add_related(image.png, maintype="image", subtype="png", cid=f"<{image.content_id}>",
                                      filename=image.filename)
        return email

    def send(self, message: Message) -> str | None:
        options = self.options
        email = self.build(message)
        try:
            context = ssl.create_default_context()
            client: smtplib.SMTP
            if options.smtp_security == "ssl":
                client = smtplib.SMTP_SSL(options.smtp_host, options.smtp_port,
                                          timeout=options.smtp_timeout_seconds, context=context)
            else:
                client = smtplib.SMTP(options.smtp_host, options.smtp_port, timeout=options.smtp_timeout_seconds)
            with client:
                client.ehlo()
                if options.smtp_security == "starttls":
                    # Never falls back to plain text: a server without STARTTLS is a failed delivery.
                    client.starttls(context=context)
                    client.ehlo()
                if options.smtp_user:
                    client.login(options.smtp_user, options.smtp_password.get_secret_value())
                refused = client.send_message(email, from_addr=options.sender, to_addrs=self.recipients)
        except (OSError, smtplib.SMTPException) as error:
            where = f"{options.smtp_host}:{options.smtp_port}"
            raise DeliveryError(f"SMTP {where}: {type(error).__name__}: {error}") from None
        if not refused:
            return None
        # Sent to the others, and retrying would send them a second copy: recorded and logged instead.
        detail = "; ".join(f"{who} ({code} {reply.decode(errors='replace')})" for who, (code, reply) in refused.items())
        log.error("the SMTP server refused some recipients of %s %s: %s", message.kind, message.reference, detail)
        return f"refused recipients: {detail}"


class WebhookNotifier(Notifier):
    """POSTs the message as JSON with a Slack-compatible ``text`` field (and the data under ``harken``)."""

    channel = "webhook"
    description = (
        "A JSON POST to the [digest] webhook_url (the [alerts] one for alerts, if set): Slack incoming "
        "webhooks and anything else that reads a `text` field."
    )

    def __init__(self, url: str, timeout: float) -> None:
        self._url = url
        self.timeout = timeout

    @classmethod
    def for_kind(cls, settings: Settings, kind: str) -> WebhookNotifier | None:
        url = settings.digest.webhook_url.get_secret_value()
        if kind == "alert" and settings.alerts.webhook_url.get_secret_value():
            url = settings.alerts.webhook_url.get_secret_value()
        return cls(url, settings.digest.webhook_timeout_seconds) if url else None

    @property
    def target(self) -> str:
        return redact_url(self._url)

    def validate(self) -> list[str]:
        if urlsplit(self._url).scheme not in ("http", "https") or not urlsplit(self._url).netloc:
            return ["webhook_url must be an http:// or https:// URL"]
        return []

    def _safe(self, text: str) -> str:
        return redact_urls(text, self._url)

    def send(self, message: Message) -> str | None:
        try:
            response = requests.post(self._url, json=message.payload, timeout=self.timeout,
                                     headers={"User-Agent": "harken"})
        except requests.RequestException as error:
            raise DeliveryError(self._safe(f"webhook {self.target}: {type(error).__name__}: {error}")) from None
        if not 200 <= response.status_code < 300:
            body = " ".join(response.text[:200].split())
            raise DeliveryError(self._safe(f"webhook {self.target}: HTTP {response.status_code}: {body}"))
        return None


NOTIFIERS: tuple[type[Notifier], ...] = (EmailNotifier, WebhookNotifier)


def notifiers_for(settings: Settings, kind: str) -> list[Notifier]:
    """Every notifier the settings configure for ``kind`` (digest or alert)."""
    found = [cls.for_kind(settings, kind) for cls in NOTIFIERS]
    return [n for n in found if n is not None]


@dataclass
class DeliveryReport:
    delivery_id: int
    channel: str
    target: str
    status: str
    attempts: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status == "sent"


def _attempt(engine: Engine, delivery_id: int, notifier: Notifier, message: Message) -> Delivery:
    """One attempt, recorded whatever happens."""
    error: str | None = None
    note: str | None = None
    try:
        note = notifier.send(message)
    except DeliveryError as failure:
        error = str(failure)
    except Exception as failure:  # a bug in a notifier must not lose the delivery either
        log.exception("notifier %s crashed", notifier.channel)
        error = f"{type(failure).__name__}: {failure}"
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", utcnow(), note
        else:
            # Whatever a notifier raised, no URL is stored whole: its path and query may be a token.
            row.last_error = redact_urls(error)
        session.add(row)
        session.commit()
        return row


def deliver(
    engine: Engine,
    message: Message,
    notifiers: Sequence[Notifier],
    *,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeliveryReport]:
    """Send ``message`` through each notifier, recording every attempt; see the module docstring."""
    reports = []
    for notifier in notifiers:
        with Session(engine, expire_on_commit=False) as session:
            row = Delivery(kind=message.kind, channel=notifier.channel, target=notifier.target,
                           reference=message.reference, status="pending")
            session.add(row)
            session.commit()
            delivery_id = row.id
        assert delivery_id is not None
        for attempt in range(1, attempts + 1):
            row = _attempt(engine, delivery_id, notifier, message)
            if row.status == "sent":
                break
            log.warning("delivery %s (%s %s by %s to %s) attempt %d failed: %s", delivery_id, message.kind,
                        message.reference, notifier.channel, notifier.target, attempt, row.last_error)
            if attempt < attempts:
                sleep(backoff_seconds * 2 ** (attempt - 1))
        if row.status != "sent":
            row = _mark_failed(engine, delivery_id)
        reports.append(DeliveryReport(delivery_id, notifier.channel, notifier.target, row.status, row.attempts,
                                      row.last_error))
    return reports


def _mark_failed(engine: Engine, delivery_id: int) -> Delivery:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        row.status = "failed"
        session.add(row)
        session.commit()
    log.error("delivery %s failed: %s %s by %s to %s, %d attempt(s): %s (it will be retried; "
              "see `harken digest --status`)", delivery_id, row.kind, row.reference, row.channel, row.target,
              row.attempts, row.last_error)
    return row


def retry_due(
    engine: Engine,
    settings: Settings,
    rebuild: Callable[[str, str], Message | None],
    *,
    now: datetime | None = None,
) -> list[DeliveryReport]:
    """Try each failed (or abandoned pending) delivery once more, up to ``digest.max_attempts`` in all.

    ``rebuild(kind, reference)`` makes the message again (a digest from its period,
    an alert from its row); the notifier is the one configured now for the
    delivery's channel. A delivery that reaches the limit stays failed, for a person.
    """
    now = now or utcnow()
    with Session(engine) as session:
        rows = session.scalars(
            select(Delivery).where(
                Delivery.attempts < settings.digest.max_attempts,
                or_(Delivery.status == "failed",
                    (Delivery.status == "pending") & (Delivery.created_at < now - STALE_PENDING)),
            ).order_by(Delivery.id)  # type: ignore[arg-type]
        ).all()
    reports = []
    for row in rows:
        assert row.id is not None
        notifier = next((n for n in notifiers_for(settings, row.kind) if n.channel == row.channel), None)
        message = rebuild(row.kind, row.reference) if notifier else None
        if notifier is None or message is None:
            log.error("delivery %s (%s %s by %s) cannot be retried: %s", row.id, row.kind, row.reference,
                      row.channel, "the channel is no longer configured" if notifier is None else "nothing to send")
            continue
        updated = _attempt(engine, row.id, notifier, message)
        if updated.status != "sent":
            updated = _mark_failed(engine, row.id)
        reports.append(DeliveryReport(row.id, row.channel, row.target, updated.status, updated.attempts,
                                      updated.last_error))
    return reports


def recent_deliveries(engine: Engine, limit: int = 20, *, failed_only: bool = False) -> list[Delivery]:
    """The latest deliveries, newest first (for ``harken digest --status`` and the web app)."""
    with Session(engine) as session:
        query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)  # type: ignore[union-attr]
        if failed_only:
            query = query.where(Delivery.status == "failed")
        return list(session.scalars(query).all())
