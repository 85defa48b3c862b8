"""The Bluesky client: the real ``atproto.Client``, signed in lazily with the brand's app password.

Answers are handed on as plain JSON dicts (``by_alias``: the wire's own camelCase
names), so that the payload readers see what Bluesky sent whichever SDK models
parsed it.  The SDK refreshes the session itself (``refreshSession``) shortly before
the access token expires.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from atproto import Client, models
from atproto_client.request import Request

from listener.platforms.bluesky.settings import BlueskySettings

REQUEST_TIMEOUT_SECONDS = 20.0
PROFILES_PER_CALL = 25  # app.bsky.actor.getProfiles takes at most 25 actors


def as_dict(model: Any) -> dict[str, Any]:
    if isinstance(model, dict):
        return model
    return model.model_dump(by_alias=True, exclude_none=True)  # type: ignore[no-any-return]


class BlueskyClient:
    """The calls Harken makes, as the brand account, returning JSON dicts."""

    def __init__(self, section: BlueskySettings, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        self.section = section
        self.sdk = Client(base_url=section.service_url, request=Request(timeout=timeout))
        self._signed_in = False

    def sign_in(self) -> None:
        if not self._signed_in:
            # The profile look-up at sign-in is what send_post takes the brand's repo (DID) from.
            self.sdk.login(self.section.handle, self.section.app_password.get_secret_value())
            self._signed_in = True

    @property
    def did(self) -> str:
        self.sign_in()
        if self.sdk.me is None:
            raise RuntimeError("Bluesky signed in without the brand's profile")
        return str(self.sdk.me.did)

    def list_notifications(self, reasons: Iterable[str], limit: int, cursor: str | None) -> dict[str, Any]:
        self.sign_in()
        params: dict[str, Any] = {"limit": limit, "reasons": list(reasons)}
        if cursor:
            params["cursor"] = cursor
        return as_dict(self.sdk.app.bsky.notification.list_notifications(params=params))

    def get_profiles(self, actors: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Detailed profiles by DID (actors Bluesky does not know are left out)."""
        self.sign_in()
        wanted = list(dict.fromkeys(actors))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), PROFILES_PER_CALL):
            answer = self.sdk.app.bsky.actor.get_profiles(params={"actors": wanted[start:start + PROFILES_PER_CALL]})
            for profile in as_dict(answer).get("profiles", []):
                if isinstance(profile, dict) and isinstance(profile.get("did"), str):
                    found[profile["did"]] = profile
        return found

    def resolve_handle(self, handle: str) -> str | None:
        """A handle's DID (for mention facets), or None when Bluesky does not know it."""
        try:
            profiles = self.get_profiles([handle])
        except Exception:  # a mention without a facet is still a mention: never fail a reply for it
            return None
        return next((did for did, profile in profiles.items() if profile.get("handle") == handle), None)

    def get_post_thread(self, uri: str, depth: int = 1) -> dict[str, Any]:
        self.sign_in()
        return as_dict(self.sdk.app.bsky.feed.get_post_thread(params={"uri": uri, "depth": depth, "parentHeight": 0}))

    def send_reply(self, text: str, root: tuple[str, str], parent: tuple[str, str],
                   facets: list[dict[str, Any]]) -> dict[str, Any]:
        self.sign_in()
        reply_to = models.AppBskyFeedPost.ReplyRef(
            root=models.ComAtprotoRepoStrongRef.Main(uri=root[0], cid=root[1]),
            parent=models.ComAtprotoRepoStrongRef.Main(uri=parent[0], cid=parent[1]),
        )
        facet_models = [models.AppBskyRichtextFacet.Main.model_validate(facet) for facet in facets] or None
        return as_dict(self.sdk.send_post(text, reply_to=reply_to, facets=facet_models))


def make_bluesky_client(section: BlueskySettings) -> BlueskyClient:
    return BlueskyClient(section)
