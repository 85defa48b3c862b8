"""Making outside text safe where Harken shows or writes it: spreadsheets, terminals, error messages.

Mentions, names and notes come from strangers; URLs from settings can carry tokens. Each
function here is the one place that guards one kind of output, so every writer agrees:

- :func:`spreadsheet_cell`: a CSV cell a spreadsheet will not run as a formula;
- :func:`terminal_text`: text without the control characters that drive a terminal;
- :func:`redact_url` / :func:`redact_urls`: URLs reduced to scheme and host, since the path
  and query of a webhook (Slack's, for one) are its credential.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

# A cell starting like a formula is run by spreadsheets (OWASP "CSV injection"): a leading quote makes it text.
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """The value as a CSV cell that no spreadsheet evaluates; non-text values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def unguard_spreadsheet_cell(value: str) -> str:
    """Undo :func:`spreadsheet_cell` on a cell read back (an export imported again)."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        return value[1:]
    return value


# C0 controls but tab and newline, DEL, C1 controls (CSI is U+009B), and the bidirectional overrides that
# reorder what a reader sees. ESC among them is what starts colour, cursor and title sequences.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# Whole escape sequences go, not only their ESC, so no "[2J" or "]0;title" debris is left in the text:
# CSI (ESC [ or U+009B) parameters and final byte; OSC, DCS, SOS, PM and APC strings up to BEL or ST
# (an unterminated one loses only its opening, never the text after it); any other ESC and the
# one character after it.
_ESCAPE_SEQUENCE = re.compile(
    "(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]?"
    "|(?:\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)"
    "|\x1b[\x20-\x7e]?"
)


def terminal_text(value: str) -> str:
    """``value`` without escape sequences or any other terminal control character (tab and newline kept)."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", value))


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: what a person needs to recognise the endpoint, without its credential."""
    parts = urlsplit(url.strip())
    host = parts.netloc.rpartition("@")[2]  # user:password@ is a credential too
    if not parts.scheme or not host:
        return "…"
    return f"{parts.scheme}://{host}/…"


_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>()]+")


def redact_urls(text: str, *secret_urls: str) -> str:
    """``text`` with every URL in it redacted, and any piece of ``secret_urls`` that appears on its own.

    Error messages quote URLs in pieces (urllib3 says ``url: /hook?token=…``), so besides whole
    URLs the path, the query and each query value of each secret URL are removed, plain and
    percent-encoded.
    """
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    pieces: set[str] = set()
    for url in secret_urls:
        if not url:
            continue
        parts = urlsplit(url.strip())
        after_host = parts.path + (f"?{parts.query}" if parts.query else "")
        candidates = [after_host, parts.query, parts.path if len(parts.path) > 1 else ""]
        for pair in parts.query.split("&"):
            candidates.append(pair.partition("=")[2])
        for candidate in candidates:
            if len(candidate) >= 3:  # shorter pieces would also match ordinary words
                pieces.update({candidate, unquote(candidate), quote(unquote(candidate), safe="/")})
    for piece in sorted(pieces, key=len, reverse=True):
        if len(piece) >= 3:
            text = text.replace(piece, "/…" if piece.startswith("/") else "…")
    return text


# The password part is greedy up to the host: a password may itself hold an "@".
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*:)[^\s'\"/]*@") 


def mask_url_password(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda match: match.group("head") + "***@", text)
