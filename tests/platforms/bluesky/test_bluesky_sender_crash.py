"""kill -9 of ``harken queue send`` after Bluesky has the reply but before Harken records it, then a restart."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from sqlalchemy.engine import Engine

from listener.demo import demo_settings
from listener.models import Reply
from listener.platforms.bluesky.simulator import BlueskySimulator
from listener.simulators import Fault
from tests.platforms.fediverse_helpers import env_for, harken
from tests.responders.helpers import add_mention, add_staff, get
from tests.responders.sender_helpers import reply_in_state

BRAND = "lumenmobile.bsky.social"


def wait_until(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_bluesky_reply_posted_once_when_the_sender_is_killed_between_posting_and_recording(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with BlueskySimulator() as sim:
        settings = demo_settings({"bluesky": sim}, db_url, sentiment={"enabled": False},
                                 replies={"similar_replies": False})
        sim.add_account("dora.bsky.social", "Dora")
        root = sim.add_post("my plan renewed at twice the price", "dora.bsky.social")
        post = sim.add_post(f"@{BRAND} why?", "dora.bsky.social", reply_to=root["uri"])
        mention = add_mention(engine, post["record"]["text"], platform="bluesky", external_id=post["uri"],
                              handle="dora.bsky.social", raw=json.dumps(post))
        agent, approver = add_staff(engine, "ana@lumen.com", "agent"), add_staff(engine, "pat@lumen.com", "approver")
        text = "Sorry Dora, that was our mistake: see https://lumen.example/refunds and @dora.bsky.social"
        reply = reply_in_state(engine, settings, mention, text, "approved", agent, [approver])
        sim.add_fault(Fault("/xrpc/com.atproto.repo.createRecord", method="POST", delay_after=60))
        env = env_for(settings, "bluesky")

        process = harken(env, tmp_path, "queue", "send")
        try:
            assert wait_until(lambda: len(sim.posted_replies()) == 1, timeout=60), "the sender never posted"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        restart = harken(env, tmp_path, "queue", "send")
        output = restart.communicate(timeout=120)[0].decode()
        assert restart.returncode == 0, output

        [posted] = sim.posted_replies()
        record = posted["record"]
        assert record["text"] == text
        assert record["reply"]["parent"]["uri"] == post["uri"] and record["reply"]["root"]["uri"] == root["uri"]
        features = {facet["features"][0]["$type"].rsplit("#", 1)[1] for facet in record["facets"]}
        assert features == {"link", "mention"}
        stored = get(engine, Reply, reply.id)
        assert (stored.state, stored.platform_reply_id) == ("sent", posted["uri"])
        assert "1 found already posted" in output
        assert [r.method for r in sim.requests if r.path.endswith("createRecord")] == ["POST"]
