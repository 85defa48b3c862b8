"""The digest by webhook: a JSON POST with a Slack-compatible ``text``, retried, its URL's token kept secret."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlmodel import Session

from listener.db import make_engine
from listener.models import Delivery
from responders.digests.dispatch import send_digest
from responders.digests.errors import NotConfigured
from responders.digests.periods import week_period
from tests.digests import dataset
from tests.digests.conftest import Webhook, free_port, settings_for


def test_the_digest_is_posted_with_a_slack_text_and_its_data(sqlite_url: str, webhook: Webhook) -> None:
    settings = settings_for(sqlite_url, digest={"webhook_url": webhook.url, "timezone": dataset.ZONE})
    engine = make_engine(sqlite_url)
    dataset.generate(engine)
    digest, _, reports = send_digest(engine, settings, week_period(dataset.WEEK, dataset.ZONE), now=dataset.NOW)
    engine.dispose()
    assert [(r.channel, r.status, r.attempts) for r in reports] == [("webhook", "sent", 1)]
    (post,) = webhook.posts
    assert post["path"] == "/services/T000/B000/XOXB-SECRET-TOKEN" and post["content_type"] == "application/json"
    text = post["json"]["text"]
    assert text.startswith(f"*Harken sentiment digest: {digest.period.label}*")
    assert f"Mentions: {digest.overall.total:,}" in text and "Negative drivers:" in text
    assert f"<{digest.inbox_link(sentiment='negative')}|Negative mentions in the inbox>" in text
    data = post["json"]["harken"]
    assert data["kind"] == "digest" and data["digest"]["overall"]["total"] == digest.overall.total
    assert data["digest"]["response"]["open_backlog"] == digest.response.open_backlog


def test_a_failing_webhook_is_retried_and_its_token_never_stored_or_logged(
    sqlite_url: str, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.statuses.extend([500, 503])
    settings = settings_for(sqlite_url, digest={"webhook_url": webhook.url, "retry_attempts": 3})
    assert "XOXB-SECRET-TOKEN" not in repr(settings) and webhook.url in settings.secrets
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="urllib3")  # as listener.logs.configure_logging holds it
    engine = make_engine(sqlite_url)
    _, _, reports = send_digest(engine, settings, week_period(dataset.WEEK, "UTC"), now=dataset.NOW)
    assert [(r.status, r.attempts) for r in reports] == [("sent", 3)]
    assert len(webhook.posts) == 1

    closed = webhook.url.replace(webhook.url.split("/")[2], f"127.0.0.1:{free_port()}")
    broken = settings_for(sqlite_url, digest={"webhook_url": closed, "retry_attempts": 2})
    _, _, reports = send_digest(engine, broken, week_period(dataset.WEEK, "UTC"), now=dataset.NOW)
    assert reports[0].status == "failed" and "ConnectionError" in (reports[0].error or "")
    with Session(engine) as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()  # type: ignore[arg-type]
    engine.dispose()
    assert [r.status for r in rows] == ["sent", "failed"]
    assert rows[0].target == webhook.url.split("/services")[0] + "/…"
    for row in rows:
        assert "SECRET" not in row.target and "SECRET" not in (row.last_error or "")
    assert "XOXB-SECRET-TOKEN" not in caplog.text


def test_sending_with_nothing_configured_says_so(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with pytest.raises(NotConfigured, match="no digest delivery is configured"):
        send_digest(engine, settings_for(sqlite_url), week_period(dataset.WEEK, "UTC"))
    engine.dispose()
