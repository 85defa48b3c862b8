"""A small search-query language shared by the X and Reddit simulators.

Both platforms accept the same core: words and ``"quoted phrases"`` that must all
appear (case-insensitive, whole words), ``OR`` between groups, ``-`` (or ``NOT``) to
negate, parentheses, and ``name:value`` operators.  AND binds tighter than OR, as
X documents: ``a b OR c`` is ``(a AND b) OR c``.  Operators are judged by the
platform (X knows ``lang:``, ``is:retweet``, ``from:``; Reddit ``author:``...); an
operator the platform does not know is ignored rather than failing the match, the
way a permissive search would, and that holds under negation too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

__all__ = ["OperatorJudge", "QueryError", "SearchQuery"]

OperatorJudge = Callable[[str, str], bool | None]
"""Judges ``name:value`` for one document: True/False, or None for "not known"."""


class QueryError(ValueError):
    """The query cannot be parsed (unbalanced parentheses or quotes, nothing to find)."""


@dataclass(frozen=True)
class _Term:
    text: str

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        words = [re.escape(word) for word in self.text.casefold().split()]
        return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


@dataclass(frozen=True)
class _Operator:
    name: str
    value: str


@dataclass(frozen=True)
class _Not:
    node: _Node


@dataclass(frozen=True)
class _All:
    nodes: tuple[_Node, ...]


@dataclass(frozen=True)
class _Any:
    nodes: tuple[_Node, ...]


_Node = _Term | _Operator | _Not | _All | _Any

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|(-)(?=\S)|([^\s()"]+))')
_OPERATOR = re.compile(r"^([A-Za-z_]+):(.+)$")


def _tokenize(query: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    stripped = query.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:
            raise QueryError(f"cannot parse the query near {stripped[position:]!r}")
        position = match.end()
        opening, closing, phrase, minus, word = match.groups()
        if opening:
            tokens.append(("(", opening))
        elif closing:
            tokens.append((")", closing))
        elif phrase is not None:
            tokens.append(("phrase", phrase))
        elif minus:
            tokens.append(("not", minus))
        elif word in ("OR", "|"):
            tokens.append(("or", word))
        elif word == "AND":
            continue
        elif word == "NOT":
            tokens.append(("not", word))
        else:
            tokens.append(("word", word))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def disjunction(self) -> _Node:
        groups = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            groups.append(self.conjunction())
        return groups[0] if len(groups) == 1 else _Any(tuple(groups))

    def conjunction(self) -> _Node:
        nodes: list[_Node] = []
        while self.peek() not in (None, "or", ")"):
            nodes.append(self.unary())
        if not nodes:
            raise QueryError("an empty group: nothing on one side of OR or inside ()")
        return nodes[0] if len(nodes) == 1 else _All(tuple(nodes))

    def unary(self) -> _Node:
        if self.peek() == "not":
            self.take()
            if self.peek() in (None, "or", ")"):
                raise QueryError("a negation with nothing after it")
            return _Not(self.unary())
        kind, text = self.take()
        if kind == "(":
            node = self.disjunction()
            if self.peek() != ")":
                raise QueryError("unbalanced parentheses")
            self.take()
            return node
        if kind == ")":
            raise QueryError("unbalanced parentheses")
        if kind == "word":
            operator = _OPERATOR.match(text)
            if operator:
                return _Operator(operator.group(1).lower(), operator.group(2))
        return _Term(text)


class SearchQuery:
    """A parsed query; :meth:`matches` tests one document against it."""

    def __init__(self, query: str) -> None:
        if query.count('"') % 2:
            raise QueryError("unbalanced double quotes")
        tokens = _tokenize(query)
        if not tokens:
            raise QueryError("the query is empty")
        parser = _Parser(tokens)
        self._root = parser.disjunction()
        if parser.position != len(tokens):
            raise QueryError("unbalanced parentheses")
        self.text = query

    def matches(self, text: str, judge: OperatorJudge | None = None) -> bool:
        """Whether ``text`` satisfies the query; ``judge`` decides the operators."""
        verdict = _evaluate(self._root, text.casefold(), judge or (lambda _name, _value: None))
        return verdict is not False

    def __repr__(self) -> str:
        return f"SearchQuery({self.text!r})"


def _evaluate(node: _Node, folded: str, judge: OperatorJudge) -> bool | None:
    """Three-valued: None means "no opinion" (an ignored operator)."""
    if isinstance(node, _Term):
        return node.pattern.search(folded) is not None
    if isinstance(node, _Operator):
        return judge(node.name, node.value)
    if isinstance(node, _Not):
        inner = _evaluate(node.node, folded, judge)
        return None if inner is None else not inner
    verdicts = [_evaluate(child, folded, judge) for child in node.nodes]
    opinions = [verdict for verdict in verdicts if verdict is not None]
    if not opinions:
        return None
    return all(opinions) if isinstance(node, _All) else any(opinions)
