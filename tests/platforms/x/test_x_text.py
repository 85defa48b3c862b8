"""How X counts a reply's length (twitter-text 3's weighted length) and the platforms' reply limits."""

from __future__ import annotations

import pytest

from listener.platforms import ReplyTooLong, check_fits
from listener.platforms.reddit import MAX_COMMENT_LENGTH as REDDIT_MAX_LENGTH
from listener.platforms.x.text import x_weighted_length


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("café", 4),  # NFC: one code point
        ("cafe\u0301", 4),  # decomposed, normalised first
        ("日本語", 6),  # CJK weighs 2
        ("😀", 2),
        ("👍🏽", 2),  # emoji + skin tone: one emoji
        ("🇺🇸", 2),  # a flag
        ("1️⃣", 2),  # keycap
        ("see https://help.lumen.com/tickets/new?ref=x-123456789 now", 4 + 23 + 4),
        ("lumen.com/status", 23),  # links without a scheme count 23 too
        ("https://help.lumen.example/a/very/long/path/to/something", 56),  # unknown TLD: never less than its own
        ("mail support@lumen.com", 22),  # an email address is not a link
    ],
)
def test_x_weighted_length_counts_as_x_does(text: str, length: int) -> None:
    assert x_weighted_length(text) == length


def test_platform_limits() -> None:
    check_fits("x", "a" * 280)
    with pytest.raises(ReplyTooLong, match="281 weighted characters, the limit is 280"):
        check_fits("x", "a" * 281)
    check_fits("x", "字" * 140)
    with pytest.raises(ReplyTooLong):
        check_fits("x", "字" * 141)
    # 257 characters plus a long link is 280 on X: the link counts 23.
    check_fits("x", "a" * 256 + " https://help.lumen.com/" + "p" * 200)
    check_fits("reddit", "a" * REDDIT_MAX_LENGTH)
    with pytest.raises(ReplyTooLong):
        check_fits("reddit", "a" * (REDDIT_MAX_LENGTH + 1))
