"""Links to the original posts: only ``http`` and ``https`` URLs are ever shown or served as links.

A mention's URL comes from a platform payload (or an older record), so it is not
trusted: a ``javascript:`` or ``data:`` URL would run in the staff member's browser
the moment it became a link. The web pages, the JSON API and the digests all pass
URLs through :func:`http_url`.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def http_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL with a host, else None."""
    if not url or any(ord(char) < 0x21 for char in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
