"""Rules in ``config/``: the conditions they test and the reply templates they fill.

Like Huginn's agents, each condition is a small class that says what it does
(``key``, ``description``) and does one thing (``matches``); a rule is a name, a
description and a ``when`` table of conditions, all of which must hold. Reply
rules add templates; triage rules (``responders.triage``) add an action. Both
files are validated with pydantic when loaded: a misspelt key, an unknown
placeholder, an unknown intent or a bad regular expression stops loading with one
line naming the file and the rule.

Reply-rule file (``config/reply-rules.toml`` documents it in full)::

    [intents]                      # named keyword lists that rules share
    outage = ["outage", "no signal", "network down"]

    [[rules]]
    name = "outage-apology"
    description = "Apologise for an outage and offer a ticket"
    score = 0.8                    # 0..1: ranks this rule's suggestions
    when = { sentiments = ["negative"], intents = ["outage"] }
    templates = ["Hi {first_name}, sorry about the outage. Details: {ticket_link}"]

A template fires only when every placeholder in it has a value for the mention
and the filled-in text fits the platform's limit (``Platform.reply_length``); there
is no fallback text, so a reply is never sent with a hole in it.
"""

from __future__ import annotations

import re
import string
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from listener.errors import HarkenError
from listener.platforms import get_platform, platform_names, reply_limit
from listener.sentiment.certainty import UNCERTAIN
from listener.settings import Settings
from responders.context import TIERS, MentionContext

PLACEHOLDERS: dict[str, str] = {
    "first_name": "the author's first name, only when surely one: a CRM customer's name, or a display name of "
    "two or more alphabetic words",
    "name": "the author's full name, from the same sources as first_name",
    "handle": "the author's handle as the platform writes it (@alice, u/alice...)",
    "ticket_link": "a link made from [replies] ticket_link_template; none when that setting is empty",
    "brand": "the brand's name ([brand] name)",
}
"""Every placeholder a template may use, and where its value comes from."""

TICKET_LINK_FIELDS = ("mention_id", "platform", "external_id")
Sentiment = Literal["negative", "neutral", "positive", "unscored", "uncertain"]
Tier = Literal["standard", "vip", "press"]


class RulesFileError(HarkenError):
    """A rules file that cannot be used; the message names the file and the rule."""


class TemplateError(HarkenError, ValueError):
    """A template with an unknown placeholder or a format it does not support."""


# -- conditions -----------------------------------------------------------------------


class Condition(ABC):
    """One test of a mention. Subclasses say what they test in ``description``."""

    key: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def matches(self, context: MentionContext) -> bool: ...

    @abstractmethod
    def explain(self) -> str:
        """This condition with its options, in words (shown when a rule does not fire)."""


class _OneOf(Condition):
    attribute: ClassVar[str]

    def __init__(self, values: Sequence[str]) -> None:
        self.values = frozenset(values)

    def matches(self, context: MentionContext) -> bool:
        return getattr(context, self.attribute) in self.values

    def explain(self) -> str:
        return f"{self.key} is one of {', '.join(sorted(self.values))}"


class PlatformIs(_OneOf):
    key, attribute = "platforms", "platform"
    description = "The mention is on one of these platforms (their names in the settings: [name] sections)."


class KindIs(_OneOf):
    key, attribute = "kinds", "kind"
    description = "The mention is one of these kinds (each platform names its own: a post, a comment...)."


class SentimentIs(_OneOf):
    key, attribute = "sentiments", "sentiment"
    description = ("The sentiment label is one of these (negative, neutral, positive, unscored, uncertain: "
                   "a label below [sentiment] min_confidence is only uncertain).")

    def matches(self, context: MentionContext) -> bool:
        # An uncertain label must not trigger a rule written for that label (an apology to a thank-you).
        return (UNCERTAIN if context.uncertain else context.sentiment) in self.values


class TierIs(_OneOf):
    key, attribute = "tiers", "tier"
    description = "The author's customer tier is one of these (standard, vip, press); unknown authors are standard."


class ConfidenceAtLeast(Condition):
    key = "min_confidence"
    description = "The sentiment classifier is at least this confident (0..1)."

    def __init__(self, value: float) -> None:
        self.value = value

    def matches(self, context: MentionContext) -> bool:
        return context.confidence is not None and context.confidence >= self.value

    def explain(self) -> str:
        return f"confidence >= {self.value}"


class FollowersAtLeast(Condition):
    key = "min_followers"
    description = "The author has at least this many followers."

    def __init__(self, value: int) -> None:
        self.value = value

    def matches(self, context: MentionContext) -> bool:
        return (context.followers or 0) >= self.value

    def explain(self) -> str:
        return f"followers >= {self.value}"


class MentionsAny(Condition):
    key = "keywords"
    description = "The text contains any of these words or phrases (whole words, any case, any spacing)."

    def __init__(self, words: Sequence[str], label: str | None = None) -> None:
        self.words = list(words)
        self.label = label
        parts = [r"\s+".join(re.escape(piece) for piece in word.split()) for word in words if word.strip()]
        self.pattern = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE) if parts else None

    def matches(self, context: MentionContext) -> bool:
        return self.pattern is not None and self.pattern.search(context.text) is not None

    def explain(self) -> str:
        if self.label:
            return f"intent {self.label} (any of: {', '.join(self.words)})"
        return f"text mentions any of: {', '.join(self.words)}"


class IntentIs(Condition):
    key = "intents"
    description = "The text matches any of these intents, named keyword lists from the file's [intents] table."

    def __init__(self, names: Sequence[str], intents: Mapping[str, Sequence[str]]) -> None:
        self.names = list(names)
        self.tests = [MentionsAny(intents[name], label=name) for name in names]

    def matches(self, context: MentionContext) -> bool:
        return any(test.matches(context) for test in self.tests)

    def explain(self) -> str:
        return " or ".join(test.explain() for test in self.tests)


class IntentIsNot(Condition):
    key = "not_intents"
    description = ("The text matches none of these intents: praise that also states a problem (\"love the update, "
                   "my phone freezes\") is not thanked.")

    def __init__(self, names: Sequence[str], intents: Mapping[str, Sequence[str]]) -> None:
        self.names = list(names)
        self.tests = [MentionsAny(intents[name], label=name) for name in names]

    def matches(self, context: MentionContext) -> bool:
        return not any(test.matches(context) for test in self.tests)

    def explain(self) -> str:
        return "none of: " + " or ".join(test.explain() for test in self.tests)


class TextMatches(Condition):
    key = "pattern"
    description = "The text matches this regular expression (Python syntax; use (?i) to ignore case)."

    def __init__(self, pattern: str) -> None:
        self.source = pattern
        self.pattern = re.compile(pattern)

    def matches(self, context: MentionContext) -> bool:
        return self.pattern.search(context.text) is not None

    def explain(self) -> str:
        return f"text matches /{self.source}/"


class _Flag(Condition):
    attribute: ClassVar[str]

    def __init__(self, value: bool) -> None:
        self.value = value

    def matches(self, context: MentionContext) -> bool:
        return bool(getattr(context, self.attribute)) is self.value

    def explain(self) -> str:
        return f"{self.key} = {str(self.value).lower()}"


class OwnAccount(_Flag):
    key, attribute = "own_account", "own_account"
    description = "The author is (true) or is not (false) the brand's own account on the platform."


class IsRetweet(_Flag):
    key, attribute = "retweet", "retweet"
    description = "The mention is (true) or is not (false) a retweet."


CONDITIONS: tuple[type[Condition], ...] = (
    PlatformIs, KindIs, SentimentIs, ConfidenceAtLeast, TierIs, FollowersAtLeast, MentionsAny, IntentIs,
    IntentIsNot, TextMatches, OwnAccount, IsRetweet,
)
"""Every condition a rule's ``when`` table may use (``harken queue rules`` lists them)."""


class When(BaseModel):
    """A rule's ``when`` table: every condition given must hold; an empty table always holds."""

    model_config = ConfigDict(extra="forbid")

    platforms: list[str] | None = None
    kinds: list[str] | None = None
    sentiments: list[Sentiment] | None = None
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    tiers: list[Tier] | None = None
    min_followers: int | None = Field(default=None, ge=0)
    keywords: list[str] | None = None
    intents: list[str] | None = None
    not_intents: list[str] | None = None
    pattern: str | None = None
    own_account: bool | None = None
    retweet: bool | None = None

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(platform_names()))
        if unknown:
            raise ValueError(f"unknown platform(s) {unknown}: one of {', '.join(platform_names())}")
        return value

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: list[str] | None) -> list[str] | None:
        known = {kind for name in platform_names() for kind in get_platform(name).mention_kinds}
        unknown = sorted(set(value or ()) - known)
        if unknown:
            raise ValueError(f"unknown kind(s) {unknown}: one of {', '.join(sorted(known))}")
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a valid regular expression: {error}") from None
        return value

    def conditions(self, intents: Mapping[str, Sequence[str]]) -> list[Condition]:
        found: list[Condition] = []
        for condition in CONDITIONS:
            value = getattr(self, condition.key)
            if value is None:
                continue
            if condition is IntentIs or condition is IntentIsNot:
                unknown = [name for name in value if name not in intents]
                if unknown:
                    raise ValueError(f"unknown intent(s) {', '.join(unknown)}: define them under [intents]")
                found.append(condition(value, intents))  # type: ignore[call-arg]
            else:
                found.append(condition(value))  # type: ignore[call-arg]
        return found


# -- templates ------------------------------------------------------------------------


def template_fields(template: str) -> list[str]:
    """The placeholders ``template`` uses; :class:`TemplateError` for anything but plain ``{name}``."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise TemplateError(f"template {template!r}: {error} (write {{{{ and }}}} for literal braces)") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise TemplateError(f"unknown placeholder {{{name}}}: one of {', '.join(PLACEHOLDERS)}")
        if spec or conversion:
            raise TemplateError(f"placeholder {{{name}}} takes no format or conversion")
        names.append(name)
    return names


def render(template: str, values: Mapping[str, str | None]) -> str | None:
    """The filled-in text, or None when any placeholder it uses has no value."""
    fields = template_fields(template)
    if any(not (values.get(name) or "").strip() for name in fields):
        return None
    return template.format_map({name: values[name] for name in fields}).strip()


def ticket_link(settings: Settings, context: MentionContext) -> str | None:
    template = settings.replies.ticket_link_template
    if not template:
        return None
    return template.format(mention_id=context.mention_id, platform=context.platform, external_id=context.external_id)


def placeholder_values(context: MentionContext, settings: Settings) -> dict[str, str | None]:
    """Each placeholder's value for this mention (None where there is none)."""
    return {
        "first_name": context.first_name,
        "name": context.name,
        "handle": context.at_handle,
        "ticket_link": ticket_link(settings, context),
        "brand": settings.brand.name or None,
    }


# -- reply rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One filled-in template that fits: a suggestion before ranking."""

    text: str
    score: float
    rule: str
    template_index: int


@dataclass
class Outcome:
    """What one rule made of one mention: the candidates, and why others did not fire."""

    rule: str
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class ReplyRule(BaseModel):
    """A reply rule: when its conditions hold, each template that fills and fits is a candidate."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    score: float = Field(default=0.5, ge=0, le=1)
    when: When = Field(default_factory=When)
    templates: list[str] = Field(min_length=1)

    @field_validator("templates")
    @classmethod
    def _known_placeholders(cls, templates: list[str]) -> list[str]:
        for template in templates:
            if not template.strip():
                raise ValueError("a template cannot be empty")
            template_fields(template)
        return templates

    def bind(self, intents: Mapping[str, Sequence[str]]) -> BoundReplyRule:
        return BoundReplyRule(self, self.when.conditions(intents))


class BoundReplyRule:
    """A reply rule with its conditions built (intents resolved); what the suggestion step runs."""

    def __init__(self, rule: ReplyRule, conditions: list[Condition]) -> None:
        self.rule = rule
        self.conditions = conditions

    @property
    def name(self) -> str:
        return self.rule.name

    def evaluate(self, context: MentionContext, values: Mapping[str, str | None],
                 settings: Settings | None = None) -> Outcome:
        """The rule's candidates for this mention; with ``settings``, within the limit where the brand posts."""
        outcome = Outcome(self.name)
        failed = [condition.explain() for condition in self.conditions if not condition.matches(context)]
        if failed:
            outcome.skipped.append(f"conditions not met: {'; '.join(failed)}")
            return outcome
        for index, template in enumerate(self.rule.templates):
            text = render(template, values)
            if text is None:
                missing = [name for name in template_fields(template) if not (values.get(name) or "").strip()]
                names = ", ".join("{" + name + "}" for name in missing)
                outcome.skipped.append(f"template {index + 1}: no value for {names}")
                continue
            length, limit = get_platform(context.platform).reply_length(text), reply_limit(context.platform, settings)
            if length > limit:
                outcome.skipped.append(f"template {index + 1}: {length} characters, over {context.platform}'s {limit}")
                continue
            # Earlier templates of a rule rank a little higher than later ones.
            outcome.candidates.append(Candidate(text, round(self.rule.score - 0.01 * index, 4), self.name, index))
        return outcome


RuleT = TypeVar("RuleT", bound=BaseModel)


class RulesFile(BaseModel, Generic[RuleT]):
    """The shape both rule files share: named keyword lists (intents) and uniquely named rules."""

    model_config = ConfigDict(extra="forbid")

    intents: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[RuleT] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> RulesFile[RuleT]:
        check_unique_names([rule.name for rule in self.rules])  # type: ignore[attr-defined]
        return self

    @classmethod
    def load(cls, path: Path) -> RulesFile[RuleT]:
        """Read and validate ``path``; :class:`RulesFileError` names the file, rule and key at fault."""
        data = read_toml(path)
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise RulesFileError(describe_validation_error(path, data, error)) from None


ReplyRulesFile = RulesFile[ReplyRule]


def check_unique_names(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two rules are named {name!r}")
        seen.add(name)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise RulesFileError(f"{path}: no such rules file") from None
    except tomllib.TOMLDecodeError as error:
        raise RulesFileError(f"{path}: not valid TOML: {error}") from None


def describe_validation_error(path: Path, data: Mapping[str, Any], error: ValidationError) -> str:
    first = error.errors()[0]
    location = list(first["loc"])
    where = ".".join(str(part) for part in location)
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        rules = data.get("rules") or []
        entry = rules[location[1]] if location[1] < len(rules) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"rule {name or location[1] + 1!r}: {'.'.join(str(part) for part in location[2:]) or 'rule'}"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "is not a known key (misspelt?)"
    return f"{path}: {where}: {message}"


def load_reply_rules(path: Path) -> list[BoundReplyRule]:
    """The reply rules of ``path``, validated; :class:`RulesFileError` names what is wrong."""
    parsed = ReplyRulesFile.load(path)
    bound: list[BoundReplyRule] = []
    for rule in parsed.rules:
        try:
            bound.append(rule.bind(parsed.intents))
        except ValueError as error:
            raise RulesFileError(f"{path}: rule {rule.name!r}: {error}") from None
    return bound


def suggest_from_rules(
    rules: Sequence[BoundReplyRule], context: MentionContext, values: Mapping[str, str | None],
    settings: Settings | None = None,
) -> list[Candidate]:
    """Every candidate of every rule that fires, best first, each text once."""
    seen: set[str] = set()
    candidates: list[Candidate] = []
    for rule in rules:
        for candidate in rule.evaluate(context, values, settings).candidates:
            if candidate.text not in seen:
                seen.add(candidate.text)
                candidates.append(candidate)
    return sorted(candidates, key=lambda c: -c.score)


__all__ = [
    "CONDITIONS", "PLACEHOLDERS", "TIERS", "BoundReplyRule", "Candidate", "Condition", "Outcome", "ReplyRule",
    "RulesFileError", "TemplateError", "When", "load_reply_rules", "placeholder_values", "render",
    "suggest_from_rules", "template_fields",
]
