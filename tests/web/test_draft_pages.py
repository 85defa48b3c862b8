"""The mention page shows a model's draft as such, and says why when there is none (issue 19)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from responders.drafts.job import DraftJob
from responders.drafts.simulator import MODEL, ChatSimulator, Scripted
from responders.sources.drafts import DraftSource
from tests.responders.helpers import add_mention, process
from tests.web.conftest import Site


@pytest.fixture
def sim() -> Iterator[ChatSimulator]:
    with ChatSimulator() as simulator:
        yield simulator


def test_the_mention_page_marks_the_draft_and_explains_a_missing_one(
        site_factory: Callable[..., Site], sim: ChatSimulator, tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge.toml"
    knowledge.write_text('[[links]]\ntitle = "Service status"\nurl = "https://status.lumen.example/"\n')
    site = site_factory(drafts={"enabled": True, "base_url": sim.base_url, "model": MODEL, "timeout_seconds": 1.0,
                                "knowledge_file": str(knowledge)})
    drafted = add_mention(site.engine, "@lumenmobile my internet is down", sentiment="negative", confidence=0.9)
    down = add_mention(site.engine, "@lumenmobile the app crashes on login", sentiment="negative", confidence=0.9)
    process(site.engine, site.settings)
    sim.script(Scripted(text="Sorry your connection is down! Follow the fix at https://status.lumen.example/"),
               Scripted(status=503))
    DraftJob(site.engine, site.settings, DraftSource(site.settings, detect=lambda text: "en")).run_pending()

    client = site.client("agent")
    page = client.get(f"/mentions/{drafted.id}")
    assert page.status_code == 200
    assert f"written by the model {MODEL}" in page.text and "Follow the fix at" in page.text
    assert "draft-notice" not in page.text

    page = client.get(f"/mentions/{down.id}")
    assert "No draft from sim-drafter-1 (the endpoint answered HTTP 503)" in page.text
    assert "Send for approval" in page.text  # the rule suggestions are there to send

    detail = client.get(f"/api/v1/mentions/{drafted.id}").json()
    assert [s["model"] for s in detail["suggestions"] if s["origin"] == "draft"] == [MODEL]
    assert client.get(f"/api/v1/mentions/{down.id}").json()["draft_notice"].startswith("No draft from")
