"""What every platform simulator shares: an HTTP server on 127.0.0.1, faults, the demo corpus.

Each platform's simulator lives in its package (``listener/platforms/<name>/simulator.py``).
The real platform clients are pointed at those servers in the tests and in ``harken
demo``, so that everything Harken does with a platform runs offline exactly as it
would online: the same wire formats, pagination, rate-limit headers and error
answers.  :class:`Fault` makes a simulator misbehave on purpose.
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

__all__ = [
    "DEMO_CORPUS_PATH",
    "CorpusError",
    "CorpusItem",
    "Fault",
    "RecordedRequest",
    "SimulatorError",
    "SimulatorNotRunningError",
    "UnknownAccountError",
    "UnknownItemError",
    "load_corpus",
]
