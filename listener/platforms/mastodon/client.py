"""The Mastodon client: the real ``Mastodon.py``, as the issue asks it to be built.

``ratelimit_method="throw"``: by default Mastodon.py waits out a rate limit by sleeping
the calling thread, which would stall every other source; thrown, the collector
pauses only its own source until the reset.  ``version_check_mode="none"``: no
version request before each call.
"""

from __future__ import annotations

from mastodon import Mastodon

from listener.platforms.mastodon.settings import MastodonSettings

REQUEST_TIMEOUT_SECONDS = 20.0


def make_mastodon_client(section: MastodonSettings, timeout: float = REQUEST_TIMEOUT_SECONDS) -> Mastodon:
    return Mastodon(
        api_base_url=section.api_base_url,
        access_token=section.access_token.get_secret_value() or None,
        ratelimit_method="throw",
        version_check_mode="none",
        request_timeout=timeout,
    )
