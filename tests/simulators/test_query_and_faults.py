"""The shared search-query language and fault bookkeeping, without a server."""

from __future__ import annotations

import pytest

from listener.platforms.x.simulator import XSimulator
from listener.simulators import Fault, SimulatorNotRunningError
from listener.simulators.faults import FaultBook
from listener.simulators.query import QueryError, SearchQuery


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("outage", "Big OUTAGE today", True),
        ("outage", "outages everywhere", False),  # whole words only
        ('"lumen mobile"', "lumen   mobile is down", True),
        ('"lumen mobile"', "mobile lumen", False),
        ("bill refund", "refund my bill", True),
        ("bill OR refund", "refund please", True),
        ("bill -refund", "refund my bill", False),
        ("@lumenmobile", "hey @LumenMobile!", True),
        ("@lumenmobile", "hey @lumenmobile_support", False),
        ("lumenmobile", "hey @lumenmobile", True),
        ("(a OR b) c", "b c", True),
        ("(a OR b) c", "a b", False),
        ("unknown:operator outage", "outage", True),
        ("-unknown:operator outage", "outage", True),
    ],
)
def test_search_query_semantics(query, text, expected):
    assert SearchQuery(query).matches(text) is expected


def test_operators_are_judged_by_the_platform():
    query = SearchQuery("outage lang:en -is:retweet")
    assert query.matches("outage", lambda name, value: {"lang": True, "is": False}[name])
    assert not query.matches("outage", lambda name, value: {"lang": False, "is": False}[name])


@pytest.mark.parametrize("query", ["", "(a OR b", 'a "b', "a OR", "()", "a -("])
def test_bad_queries_raise(query):
    with pytest.raises(QueryError):
        SearchQuery(query)


def test_fault_is_used_up_after_its_times():
    book = FaultBook()
    book.add(Fault("/2/users", status=503, times=2, when_param="pagination_token", method="get"))
    assert book.take("GET", "/2/users/1/mentions", {}) is None
    assert book.take("POST", "/2/users/1/mentions", {"pagination_token": "x"}) is None
    assert book.take("GET", "/2/users/1/mentions", {"pagination_token": "x"}) is not None
    assert book.take("GET", "/2/users/1/mentions", {"pagination_token": "x"}) is not None
    assert book.take("GET", "/2/users/1/mentions", {"pagination_token": "x"}) is None


def test_fault_validation():
    with pytest.raises(ValueError):
        Fault("/x", times=0)
    with pytest.raises(ValueError):
        Fault("/x", status=500, malformed=True)


def test_base_url_needs_a_started_simulator():
    sim = XSimulator()
    with pytest.raises(SimulatorNotRunningError):
        _ = sim.base_url
    with sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
