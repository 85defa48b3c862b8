"""How long a reply is, the way each platform counts it, and whether it fits.

X counts a tweet's *weighted* length (twitter-text 3, the rules X's own apps use):
after NFC normalisation, code points in the Latin, Greek, Cyrillic, general
punctuation ranges weigh 1 and everything else (CJK, most symbols) weighs 2; each
emoji weighs 2 however many code points it is made of; and every link counts as 23,
the length of the ``t.co`` address that replaces it. The limit is 280. Reddit
limits a comment to 10,000 characters.

No maintained Python package does this: ``twitter-text-parser`` (the last port,
2023) imports ``pkg_resources``, which current setuptools no longer ships, and the
older ports stop at twitter-text 1 or 2. So the rules are implemented here, and
wherever Harken cannot be sure how X will count something it counts *more*, never
less, so that a reply that Harken says fits always fits:

* a link whose top-level domain is on the short list below (all of which X
  recognises) counts exactly 23; any other link-shaped word counts the larger of
  23 and its own length, since X may or may not link it;
* a single emoji (with its variation selector, skin tone or keycap mark, or a flag)
  counts 2; a ZWJ sequence (family, profession...) counts as the sum of its parts,
  which is what X counts for sequences missing from its emoji list, and more than it
  counts for the listed ones.
"""

from __future__ import annotations

import functools
import unicodedata

import regex

from listener.errors import HarkenError

X_MAX_WEIGHTED_LENGTH = 280
REDDIT_MAX_LENGTH = 10_000
X_URL_LENGTH = 23
LIMITS = {"x": X_MAX_WEIGHTED_LENGTH, "reddit": REDDIT_MAX_LENGTH}

# twitter-text 3's "version3" configuration: these ranges weigh 1 (scale 100 -> 1), the rest 2.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))

KNOWN_TLDS = frozenset((
    "com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "io", "co", "ai", "app", "dev", "me", "tv",
    "fm", "ly", "gl", "gg", "cc", "us", "uk", "ca", "de", "fr", "es", "it", "nl", "be", "ch", "at", "se", "no",
    "dk", "fi", "ie", "pt", "pl", "cz", "eu", "au", "nz", "jp", "cn", "kr", "in", "br", "mx", "ar", "za", "ru",
    "sg", "hk", "tw", "help", "support", "link", "page", "news", "blog", "shop", "store", "online", "site", "tech",
    "cloud", "email", "mobile", "xyz",
))
"""Top-level domains X links with or without ``https://`` (a subset of twitter-text's list)."""

# A word that looks like a link: optional scheme, dotted host ending in a letters-only label, optional path.
_LINK = regex.compile(
    r"(?<![\w@.\-/])(?:https?://)?(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+(\p{L}{2,63})"
    r"(?::\d{1,5})?(?:[/?#][^\s]*)?",
    regex.IGNORECASE,
)
_TRAILING = ".,:;!?'\")]}»”’"
_EMOJI_MARKS = regex.compile(r"[\uFE0F\uFE0E\u20E3\p{Emoji_Modifier}\U000E0020-\U000E007F]")
# Compiled once: looking a pattern up in regex's cache on every character cost more than the matching.
_GRAPHEME = regex.compile(r"\X")
_FLAG = regex.compile(r"\p{Regional_Indicator}{2}")
_PICTOGRAPHIC = regex.compile(r"\p{Extended_Pictographic}")


class ReplyTooLong(HarkenError, ValueError):
    """A reply text over the platform's limit; the message says by how much."""

    def __init__(self, platform: str, length: int, limit: int) -> None:
        unit = "weighted characters" if platform == "x" else "characters"
        super().__init__(f"too long for {platform}: {length} {unit}, the limit is {limit}")
        self.platform, self.length, self.limit = platform, length, limit


class UnknownPlatform(HarkenError, ValueError):
    """A platform Harken does not post to."""


def _code_point_weight(char: str) -> int:
    point = ord(char)
    return 1 if any(low <= point <= high for low, high in _LIGHT_RANGES) else 2


def _is_single_emoji(cluster: str) -> bool:
    if "\u200d" in cluster:
        return False  # ZWJ sequences: counted by their parts (never less than X counts)
    if _FLAG.fullmatch(cluster):
        return True
    core = _EMOJI_MARKS.sub("", cluster)
    if "\u20e3" in cluster:  # keycap: 1️⃣, #️⃣
        return len(core) == 1
    return len(core) == 1 and bool(_PICTOGRAPHIC.match(core))


@functools.lru_cache(maxsize=8192)
def _cluster_weight(cluster: str) -> int:
    # Texts are made of few distinct clusters (letters, spaces, a few emoji): each is weighed once.
    return 2 if _is_single_emoji(cluster) else sum(_code_point_weight(c) for c in cluster)


def _plain_weight(text: str) -> int:
    return sum(_cluster_weight(cluster) for cluster in _GRAPHEME.findall(text))


def x_weighted_length(text: str) -> int:
    """The length X counts for ``text`` (never less than X's own count; see the module docstring)."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for match in _LINK.finditer(text):
        link = match.group(0).rstrip(_TRAILING)
        if not link:
            continue
        start, end = match.start(), match.start() + len(link)
        total += _plain_weight(text[position:start])
        tld = regex.search(r"\.(\p{L}{2,63})(?::\d+)?(?:[/?#]|$)", link.split("://", 1)[-1])
        own = _plain_weight(link)
        known = tld is not None and tld.group(1).lower() in KNOWN_TLDS
        total += X_URL_LENGTH if known else max(X_URL_LENGTH, own)
        position = end
    return total + _plain_weight(text[position:])


def reddit_length(text: str) -> int:
    return len(text)


def length_for(platform: str, text: str) -> int:
    """The length ``platform`` counts for ``text``."""
    if platform == "x":
        return x_weighted_length(text)
    if platform == "reddit":
        return reddit_length(text)
    raise UnknownPlatform(f"no reply limit known for platform {platform!r}")


def fits(platform: str, text: str) -> bool:
    return length_for(platform, text) <= LIMITS[platform]


def check_fits(platform: str, text: str) -> None:
    """Raise :class:`ReplyTooLong` when ``text`` is over ``platform``'s limit."""
    length = length_for(platform, text)
    if length > LIMITS[platform]:
        raise ReplyTooLong(platform, length, LIMITS[platform])
