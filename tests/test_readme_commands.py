"""The README's two commands are what CI runs, and they need nothing installed by hand (issue 18, item 17)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from tests.web import browser

REPO = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_ci_runs_exactly_the_readmes_two_commands() -> None:
    readme = _readme_commands()
    assert len(readme) == 2 and readme[1] == ".venv/bin/pytest -q -n 2"  # two processes: the whole run fits CI
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in script[1:] if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert commands == readme
    # The first command must end by itself: a demo that stays up to serve would never let CI go on.
    assert readme[0].endswith("harken demo --no-serve")


@pytest.fixture
def fake_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """apt-get and sudo stand-ins on PATH: they log their arguments; "install chromium" creates the browser."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    chromium = tmp_path / "usr-bin" / "chromium"
    bin_dir.mkdir()
    apt = bin_dir / "apt-get"
    apt.write_text(f'#!/bin/sh\necho "apt-get $*" >> {log}\n'
                   f'if [ "$1" = install ]; then mkdir -p {chromium.parent}; '
                   f'printf "#!/bin/sh\\n" > {chromium}; chmod +x {chromium}; fi\n')
    sudo = bin_dir / "sudo"
    sudo.write_text(f'#!/bin/sh\necho "sudo $*" >> {log}\nshift\nexec "$@"\n')
    for script in (apt, sudo):
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return chromium, log


def test_the_browser_tests_install_chromium_where_it_is_missing(fake_apt: tuple[Path, Path]) -> None:
    chromium, log = fake_apt
    assert browser.ensure_chromium(str(chromium)) == str(chromium)
    calls = log.read_text().splitlines()
    assert calls[-1] == "apt-get install -y -q chromium"
    if os.geteuid() != 0:
        assert calls[0] == "sudo -n apt-get install -y -q chromium"
    # Present now: nothing is installed a second time.
    assert browser.ensure_chromium(str(chromium)) == str(chromium)
    assert log.read_text().splitlines() == calls
