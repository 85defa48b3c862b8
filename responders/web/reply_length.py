"""How long a reply is as its platform counts it, for the reply boxes' counters.

The counter in every reply box shows what the server will check when the reply is
submitted: ``Platform.reply_length`` (weighted characters on some platforms, where a
link or a CJK character does not count as its number of code points), against
``Platform.reply_limit``. The rule is not ported to the browser: the box asks
``/api/v1/length`` (debounced) and the page is first drawn with the count of its
prefilled text, so there is only one rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from listener.platforms import get_platform


@dataclass(frozen=True)
class ReplyLength:
    platform: str
    length: int
    limit: int
    unit: str

    @property
    def over(self) -> bool:
        return self.length > self.limit

    @property
    def left(self) -> int:
        return self.limit - self.length

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"over": self.over, "left": self.left}


def reply_length(platform: str, text: str) -> ReplyLength:
    """``text`` measured by ``platform``'s rule (raises ``UnknownPlatform`` for a name no package registers)."""
    rule = get_platform(platform)
    return ReplyLength(rule.name, rule.reply_length(text), rule.reply_limit, rule.length_unit)
