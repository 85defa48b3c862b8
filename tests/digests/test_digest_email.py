"""The digest by email, through a real SMTP server on 127.0.0.1 (aiosmtpd), parsed back as MIME."""

from __future__ import annotations

import io
import logging
import re
import socket

import pytest
from PIL import Image
from sqlalchemy import select
from sqlmodel import Session

from listener.db import make_engine
from listener.models import Delivery
from responders.digests.delivery import recent_deliveries
from responders.digests.dispatch import redeliver, send_digest
from responders.digests.periods import day_period, week_period
from tests.digests import dataset
from tests.digests.conftest import SMTPServer, free_port, settings_for

RECIPIENTS = ["manager@example.com", "pr@example.com"]


def _smtp(server: SMTPServer | None = None, port: int | None = None, **more: object) -> dict[str, object]:
    return {"smtp_host": "127.0.0.1", "smtp_port": port or (server.port if server else 25), "smtp_security": "none",
            "recipients": RECIPIENTS, "sender": "harken@example.com", "timezone": dataset.ZONE,
            "open_statuses": list(dataset.OPEN), **more}


def _deliveries(url: str) -> list[Delivery]:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = list(session.scalars(select(Delivery).order_by(Delivery.id)))  # type: ignore[arg-type]
    engine.dispose()
    return rows


def test_the_digest_email_arrives_with_its_parts_images_and_figures(db_url: str, smtp_server: SMTPServer) -> None:
    settings = settings_for(db_url, digest=_smtp(smtp_server), brand={"name": "Lumen"})
    engine = make_engine(db_url)
    dataset.generate(engine)
    period = week_period(dataset.WEEK, dataset.ZONE)
    digest, _, reports = send_digest(engine, settings, period, now=dataset.NOW)
    engine.dispose()

    assert [r.status for r in reports] == ["sent"]
    assert len(smtp_server.received) == 1
    received = smtp_server.received[0]
    assert received.envelope_from == "harken@example.com" and received.recipients == RECIPIENTS
    email = received.message
    assert email["Subject"] == f"Lumen digest: {period.label}"
    assert email["To"] == ", ".join(RECIPIENTS)

    # multipart/alternative: the plain text, then the HTML with its images (multipart/related).
    assert email.get_content_type() == "multipart/alternative"
    plain, related = email.get_payload()  # type: ignore[misc]
    assert plain.get_content_type() == "text/plain" and related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert [i.get_content_type() for i in images] == ["image/png", "image/png"]

    # Every image is referenced by cid: from a figure of the HTML, and is a real chart.
    html = html_part.get_content()
    cids = {i["Content-ID"].strip("<>") for i in images}
    assert set(re.findall(r'<img src="cid:([^"]+)"', html)) == cids
    assert html.count("<figure") == 2 and html.count("<figcaption") == 2
    for image in images:
        png = image.get_payload(decode=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        picture = Image.open(io.BytesIO(png))
        assert picture.format == "PNG" and picture.width >= 600 and picture.height >= 150
        assert len(picture.convert("RGB").getcolors(maxcolors=100_000) or []) > 10, "a chart, not a blank image"

    # The figures, in both parts.
    text = plain.get_content()
    overall = digest.overall
    assert f"Mentions:        {overall.total:,} (before: {digest.previous_overall.total:,}" in text
    for label in ("negative", "neutral", "positive", "unscored"):
        assert f"{label.capitalize() + ':':<16} {getattr(overall, label):,} (" in text
        assert f'data-figure="{label}" style="text-align: right;">{getattr(overall, label):,}</td>' in html
    assert f'data-figure="mentions" style="text-align: right;">{overall.total:,}</td>' in html
    net = f"{overall.net:+.1f}".replace("-", "−")
    assert f"Net sentiment:   {net}" in text and f'data-figure="net" style="text-align: right;">{net}<' in html
    for p in digest.platforms:
        assert re.search(rf"^  {p.platform}\s+{p.mix.total:,}\s+{p.mix.negative:,}\s+{p.mix.neutral:,}", text, re.M)
    response = digest.response
    assert f"Replies sent:                {response.replies_sent:,}" in text
    assert f"SLA breaches:                {response.sla_breaches:,} (of {response.sla_due:,} mentions due)" in text
    assert f"Open backlog:                {response.open_backlog:,}" in text
    assert f'data-figure="sla_breaches">{response.sla_breaches:,}</td>' in html
    for driver in digest.drivers.drivers:
        assert f'"{driver.term}": {driver.mentions:,} mentions' in text
        assert f"<strong>{driver.term}</strong>: {driver.mentions:,} mentions" in html
        for example in driver.examples:
            assert f'<a href="{example.url}">' in html
    for customer in digest.top_customers[:3]:
        assert f"{customer.mentions:,} mentions, {customer.negative:,} negative" in text
    assert "sentiment=negative&amp;since=" in html  # the inbox link, escaped as HTML needs

    # Hostile names and texts are shown, never interpreted.
    assert "<b onmouseover" not in html and "&lt;b onmouseover=&#34;alert(1)&#34;&gt;Mallory&lt;/b&gt; &amp; co" in html
    assert "<script" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")

    rows = _deliveries(db_url)
    assert [(r.kind, r.channel, r.status, r.attempts, r.last_error) for r in rows] == [
        ("digest", "email", "sent", 1, None)
    ]
    assert rows[0].reference == period.reference and rows[0].target == ", ".join(RECIPIENTS)


def test_an_empty_day_is_sent_as_no_mentions(sqlite_url: str, smtp_server: SMTPServer) -> None:
    settings = settings_for(sqlite_url, digest=_smtp(smtp_server))
    engine = make_engine(sqlite_url)
    send_digest(engine, settings, day_period(dataset.WEEK, dataset.ZONE), now=dataset.NOW)
    engine.dispose()
    email = smtp_server.received[0].message
    plain, html = email.get_payload()  # type: ignore[misc]
    assert html.get_content_type() == "text/html"  # no images, so no multipart/related
    assert "No mentions in this period." in plain.get_content()
    assert 'id="no-mentions"' in html.get_content() and "<img" not in html.get_content()


def test_smtp_login_uses_the_password_and_never_logs_it(
    sqlite_url: str, smtp_server_with_auth: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(sqlite_url, digest=_smtp(smtp_server_with_auth, smtp_user="digest-bot",
                                                      smtp_password="s3cret-Passw0rd"))
    assert "s3cret-Passw0rd" in settings.secrets and "s3cret-Passw0rd" not in repr(settings)
    engine = make_engine(sqlite_url)
    _, _, reports = send_digest(engine, settings, day_period(dataset.WEEK, dataset.ZONE), now=dataset.NOW)
    engine.dispose()
    assert [r.status for r in reports] == ["sent"]
    assert smtp_server_with_auth.handler.logins == [("digest-bot", "s3cret-Passw0rd")]
    assert "s3cret-Passw0rd" not in caplog.text
    assert all("s3cret" not in (r.target + (r.last_error or "")) for r in _deliveries(sqlite_url))

    wrong = settings_for(sqlite_url, digest=_smtp(smtp_server_with_auth, smtp_user="digest-bot",
                                                   smtp_password="not-the-Passw0rd", retry_attempts=1))
    engine = make_engine(sqlite_url)
    _, _, reports = send_digest(engine, wrong, day_period(dataset.WEEK, dataset.ZONE), now=dataset.NOW)
    engine.dispose()
    assert reports[0].status == "failed" and "SMTPAuthenticationError" in (reports[0].error or "")
    assert "not-the-Passw0rd" not in caplog.text and "not-the-Passw0rd" not in (reports[0].error or "")


def test_a_refused_connection_is_retried_recorded_reported_and_redelivered(
    sqlite_url: str, smtp_server: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    closed = free_port()
    with socket.socket() as probe:  # nothing listens there
        assert probe.connect_ex(("127.0.0.1", closed)) != 0
    settings = settings_for(sqlite_url, digest=_smtp(port=closed, retry_attempts=3, retry_backoff_seconds=1.5))
    waits: list[float] = []
    engine = make_engine(sqlite_url)
    period = day_period(dataset.WEEK, dataset.ZONE)
    _, _, reports = send_digest(engine, settings, period, now=dataset.NOW, sleep=waits.append)

    assert waits == [1.5, 3.0], "retried with a doubling back-off"
    assert [(r.status, r.attempts) for r in reports] == [("failed", 3)]
    row = _deliveries(sqlite_url)[0]
    assert (row.status, row.attempts, row.sent_at) == ("failed", 3, None)
    assert "ConnectionRefusedError" in (row.last_error or "") and f"127.0.0.1:{closed}" in (row.last_error or "")
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failures and "retried" in failures[-1].getMessage() and "digest --status" in failures[-1].getMessage()
    assert [d.status for d in recent_deliveries(engine, failed_only=True)] == ["failed"]

    # Later, with the server reachable, the redelivery job sends it (the notifier configured now).
    fixed = settings_for(sqlite_url, digest=_smtp(smtp_server))
    retried = redeliver(engine, fixed)
    engine.dispose()
    assert [(r.status, r.attempts) for r in retried] == [("sent", 4)]
    assert len(smtp_server.received) == 1
    assert smtp_server.received[0].message["Subject"].endswith(period.label)
    row = _deliveries(sqlite_url)[0]
    assert (row.status, row.attempts) == ("sent", 4) and row.sent_at is not None


def test_starttls_is_required_never_downgraded(sqlite_url: str, smtp_server: SMTPServer) -> None:
    settings = settings_for(sqlite_url, digest=_smtp(smtp_server, smtp_security="starttls", retry_attempts=2))
    engine = make_engine(sqlite_url)
    _, _, reports = send_digest(engine, settings, day_period(dataset.WEEK, dataset.ZONE), now=dataset.NOW)
    engine.dispose()
    assert reports[0].status == "failed" and "STARTTLS" in (reports[0].error or "")
    assert smtp_server.received == [], "nothing was sent in the clear"


def test_redelivery_gives_up_at_max_attempts(sqlite_url: str) -> None:
    closed = free_port()
    settings = settings_for(sqlite_url, digest=_smtp(port=closed, retry_attempts=2, max_attempts=3))
    engine = make_engine(sqlite_url)
    send_digest(engine, settings, day_period(dataset.WEEK, dataset.ZONE), now=dataset.NOW)
    assert [r.attempts for r in redeliver(engine, settings)] == [3]
    assert redeliver(engine, settings) == [], "left failed, for a person"
    engine.dispose()
    assert [(r.status, r.attempts) for r in _deliveries(sqlite_url)] == [("failed", 3)]
