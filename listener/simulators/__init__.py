"""Platform simulators: X API v2 and Reddit's OAuth API served on 127.0.0.1.

The real ``tweepy.Client`` and ``praw.Reddit`` are pointed at these servers in the
tests and in ``harken demo``, so that everything Harken does with a platform runs
offline exactly as it would online: the same wire formats, pagination, rate-limit
headers and error answers.  :class:`Fault` makes a simulator misbehave on purpose.
"""

from listener.simulators.corpus import DEMO_CORPUS_PATH, CorpusItem, load_corpus
from listener.simulators.errors import (
    CorpusError,
    SimulatorError,
    SimulatorNotRunningError,
    UnknownAccountError,
    UnknownItemError,
)
from listener.simulators.faults import Fault, RecordedRequest
from listener.simulators.reddit import RedditSimulator
from listener.simulators.x import XSimulator

__all__ = [
    "DEMO_CORPUS_PATH",
    "CorpusError",
    "CorpusItem",
    "Fault",
    "RecordedRequest",
    "RedditSimulator",
    "SimulatorError",
    "SimulatorNotRunningError",
    "UnknownAccountError",
    "UnknownItemError",
    "XSimulator",
    "load_corpus",
]
