"""kill -9 of ``harken queue send`` after Mastodon has the reply but before Harken records it, then a restart."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from sqlalchemy.engine import Engine

from listener.demo import demo_settings
from listener.models import Reply
from listener.platforms.mastodon.simulator import MastodonSimulator
from listener.simulators import Fault
from tests.platforms.fediverse_helpers import env_for, harken
from tests.responders.helpers import add_mention, add_staff, get
from tests.responders.sender_helpers import reply_in_state


def wait_until(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_mastodon_reply_posted_once_keeping_direct_visibility_when_the_sender_is_killed(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path
) -> None:
    with MastodonSimulator(max_characters=1000) as sim:
        settings = demo_settings({"mastodon": sim}, sqlite_url, sentiment={"enabled": False},
                                 replies={"similar_replies": False})
        sim.add_account("erin@social.example", "Erin")
        status = sim.add_status("@lumenmobile@mastodon.example my account number is 1234", "erin@social.example",
                                visibility="direct")
        mention = add_mention(sqlite_engine, "my account number is 1234", platform="mastodon",
                              external_id=status["id"], handle="erin@social.example", raw=json.dumps(status))
        agent = add_staff(sqlite_engine, "ana@lumen.com", "agent")
        approver = add_staff(sqlite_engine, "pat@lumen.com", "approver")
        text = "@erin@social.example thanks Erin, we have fixed it."
        reply = reply_in_state(sqlite_engine, settings, mention, text, "approved", agent, [approver])
        sim.add_fault(Fault("/api/v1/statuses", method="POST", delay_after=60))
        env = env_for(settings, "mastodon")

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
        assert posted["in_reply_to_id"] == status["id"] and posted["visibility"] == "direct"
        stored = get(sqlite_engine, Reply, reply.id)
        assert (stored.state, stored.platform_reply_id) == ("sent", posted["id"])
        assert "1 found already posted" in output
        assert [r.method for r in sim.requests if r.path == "/api/v1/statuses"] == ["POST"]
