"""``harken demo``: the whole listening pipeline, offline, on the bundled corpus.

It starts every registered platform's simulator seeded with realistic brand
mentions, points the real platform clients at them, collects into a fresh SQLite
file, processes (language, sentiment) and prints what happened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from listener.platforms import all_platforms, get_platform
from listener.settings import Settings, load_settings
from listener.simulators.corpus import DEMO_CORPUS_PATH, CorpusItem
from listener.simulators.corpus import load_corpus as read_corpus
from listener.simulators.server import SimulatorServer

DEMO_BRAND = "Lumen Mobile"

DemoPlatforms = dict[str, SimulatorServer]
"""The running simulators by platform name."""


def load_corpus(path: str | Path = DEMO_CORPUS_PATH) -> list[CorpusItem]:
    """The demo corpus, each item checked against its platform's kinds of mention."""
    return read_corpus(path, kinds={platform.name: platform.mention_kinds for platform in all_platforms()})


@contextlib.contextmanager
def running_simulators(corpus_path: Path | None = None) -> Iterator[DemoPlatforms]:
    """Every platform's simulator, seeded with the demo corpus, for as long as the block runs."""
    items = load_corpus(corpus_path) if corpus_path else load_corpus()
    with contextlib.ExitStack() as stack:
        yield {platform.name: stack.enter_context(platform.simulator(items)) for platform in all_platforms()}


def demo_settings(platforms: Mapping[str, Any], database_url: str, **extra: Any) -> Settings:
    """Settings that point the real clients at the simulators (platforms without one stay off)."""
    overrides: dict[str, Any] = {"brand": {"name": DEMO_BRAND}, "database": {"url": database_url}}
    for name, simulator in platforms.items():
        overrides[name] = get_platform(name).demo_settings(simulator)
    for section, values in extra.items():
        overrides.setdefault(section, {}).update(values)
    return load_settings(**overrides)
