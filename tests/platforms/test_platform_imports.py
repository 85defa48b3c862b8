"""Reading the settings imports no platform's client library: each is imported when the platform is first used.

Every command, worker and test reads the settings, and the settings know every
platform's section through the registry; importing tweepy, praw, atproto and
Mastodon.py there cost each of them over a second of start-up. The checks run in
a fresh interpreter, where nothing else has imported those libraries yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLIENT_LIBRARIES = ("atproto", "mastodon", "tweepy", "praw")
LOADED = (
    "import json, sys; "
    f"print(json.dumps([name for name in {CLIENT_LIBRARIES!r} if name in sys.modules]))"
)


def loaded_after(code: str) -> list[str]:
    """The client libraries imported once ``code`` has run in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", f"{code}\n{LOADED}"], capture_output=True, text=True, env=env,
                            cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_reading_the_settings_imports_no_client_library() -> None:
    assert loaded_after("import listener.settings\nlistener.settings.load_settings()") == []


def test_a_platform_imports_its_client_library_when_its_collectors_are_asked_for() -> None:
    assert loaded_after("from listener.platforms import collectors\ncollectors()") == list(CLIENT_LIBRARIES)
