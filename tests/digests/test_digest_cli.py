"""``harken digest`` and ``harken alerts`` as a person types them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listener.db import make_engine
from responders.cli import app
from responders.digests.dispatch import check_and_alert, send_digest
from responders.digests.periods import day_period
from tests.digests import dataset, seed, storms
from tests.digests.conftest import free_port, settings_for


@pytest.fixture
def harken(sqlite_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HARKEN_DATABASE__URL", sqlite_url)
    monkeypatch.setenv("HARKEN_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def test_a_day_without_mentions_says_so(harken, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "digest.html"
    result = harken("digest", "--period", "day", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "No mentions in" in result.output and "No mentions in this period." in result.output
    html = out.read_text()
    assert 'id="no-mentions"' in html and "No mentions in this period." in html


def test_a_custom_range_as_text_html_and_json(harken, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(sqlite_url)
    dataset.generate(engine)
    engine.dispose()
    out, data = tmp_path / "digest.html", tmp_path / "digest.json"
    result = harken("digest", "--since", "2026-10-19", "--until", "2026-10-26", "--out", str(out),
                    "--json", str(data))
    assert result.exit_code == 0, result.output
    assert "OVERVIEW" in result.output and "NEGATIVE DRIVERS" in result.output
    figures = json.loads(data.read_text())
    assert f"Mentions:        {figures['overall']['total']:,}" in result.output
    html = out.read_text()
    assert html.count('<img src="data:image/png;base64,') == 2, "a standalone file: charts inlined"
    assert "cid:" not in html


def test_bad_dates_are_one_line(harken) -> None:  # type: ignore[no-untyped-def]
    result = harken("digest", "--since", "last tuesday")
    assert result.exit_code == 2 and "not an ISO date" in result.output
    result = harken("digest", "--since", "2026-10-26", "--until", "2026-10-19")
    assert result.exit_code == 2 and "before it starts" in result.output


def test_send_without_delivery_configured_fails_plainly(harken) -> None:  # type: ignore[no-untyped-def]
    result = harken("digest", "--send")
    assert result.exit_code == 2 and "no digest delivery is configured" in result.output


def test_status_lists_failed_deliveries(harken, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    settings = settings_for(sqlite_url, digest={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
                                                "recipients": ["a@example.com"], "retry_attempts": 1})
    engine = make_engine(sqlite_url)
    send_digest(engine, settings, day_period(dataset.WEEK, "UTC"), now=dataset.NOW)
    engine.dispose()
    result = harken("digest", "--status")
    assert result.exit_code == 0
    assert "failed" in result.output and "ConnectionRefusedError" in result.output
    assert "1 failed delivery(ies)" in result.output

    # And `--send` exits 1 when a delivery fails.
    monkeypatch.setenv("HARKEN_DIGEST__SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HARKEN_DIGEST__SMTP_PORT", str(port))
    monkeypatch.setenv("HARKEN_DIGEST__SMTP_SECURITY", "none")
    monkeypatch.setenv("HARKEN_DIGEST__RECIPIENTS", '["a@example.com"]')
    monkeypatch.setenv("HARKEN_DIGEST__RETRY_ATTEMPTS", "1")
    result = harken("digest", "--send")
    assert result.exit_code == 1 and "email to a@example.com: failed" in result.output


def test_alerts_check_and_list(harken, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(sqlite_url)
    source = seed.source(engine, "x:mentions", "x")
    moment = dataset.NOW
    storms.poisson_traffic(engine, moment - timedelta(days=15), moment, lambda _: 2.0, sources={source: 1.0})
    storms.burst(engine, moment - timedelta(minutes=5), 20, source, text="@brand the <b>site</b> is down")
    check_and_alert(engine, settings_for(sqlite_url), now=moment)
    engine.dispose()
    result = harken("alerts", "list")
    assert result.exit_code == 0, result.output
    assert "brand" in result.output and "Spike alerts" in result.output
    listed = json.loads(harken("alerts", "list", "--json").output)
    assert listed[0]["scope"] == "brand" and listed[0]["explanation"]["observed"] == listed[0]["observed"]

    result = harken("alerts", "check", "--no-deliver")
    assert result.exit_code == 0 and "Spike check at" in result.output and "verdict" in result.output
