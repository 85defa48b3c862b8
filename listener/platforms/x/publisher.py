"""Replies on X through tweepy: post one, and find the brand's own reply for exactly-once sending."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
import tweepy

from listener.models import Mention
from listener.platforms.publisher import DeliveryUncertain, PlatformRejected, PostedReply, PublisherUnavailable
from listener.platforms.x.client import make_x_client
from listener.platforms.x.settings import XSettings


def _x_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _x_message(error: tweepy.HTTPException) -> str:
    messages = [m for m in getattr(error, "api_messages", []) if m]
    status = getattr(error.response, "status_code", "?")
    return f"X answered {status}: {'; '.join(messages) or str(error)}"


class XPublisher:
    """Replies with ``create_tweet(in_reply_to_tweet_id=...)`` as the brand account (OAuth 1.0a)."""

    platform: ClassVar[str] = "x"

    def __init__(self, section: XSettings, lookup_pages: int = 5) -> None:
        if not section.brand_username:
            raise PublisherUnavailable("x.brand_username is not set: Harken cannot tell its own replies")
        self.section = section
        self.client = make_x_client(section)
        self.lookup_pages = lookup_pages
        self._brand_id: str | None = None
        # Reads use the app-only token when there is one, else the brand's own OAuth 1.0a context.
        self._read_as_user = not section.bearer_token.get_secret_value()

    def post_reply(self, mention: Mention, text: str) -> PostedReply:
        try:
            answer: Any = self.client.create_tweet(text=text, in_reply_to_tweet_id=mention.external_id, user_auth=True)
        except tweepy.TwitterServerError as error:
            raise DeliveryUncertain(_x_message(error)) from None
        except tweepy.HTTPException as error:  # 4xx, 429 included: X did not create the tweet
            raise PlatformRejected(_x_message(error)) from None
        except (requests.Timeout, requests.ConnectionError) as error:
            raise DeliveryUncertain(f"X did not answer: {type(error).__name__}") from None
        except ValueError as error:  # a body that is not JSON
            raise DeliveryUncertain(f"X answered something that is not JSON: {error}") from None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            raise DeliveryUncertain(f"X answered without a tweet id: {str(answer)[:200]}")
        return PostedReply(str(data["id"]))

    def brand_id(self) -> str:
        if self._brand_id is None:
            answer: Any = self.client.get_user(username=self.section.brand_username, user_auth=self._read_as_user)
            data = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(data, dict):
                raise PlatformRejected(f"X does not know @{self.section.brand_username}")
            self._brand_id = str(data["id"])
        return self._brand_id

    def find_own_reply(self, mention: Mention, since: datetime) -> PostedReply | None:
        """``GET /2/users/{brand}/tweets`` since ``since``: a tweet that replied_to the mention."""
        token: str | None = None
        try:
            brand = self.brand_id()
            for _ in range(self.lookup_pages):
                page: Any = self.client.get_users_tweets(
                    brand, max_results=100, start_time=since.astimezone(UTC),
                    tweet_fields=["referenced_tweets", "created_at"], pagination_token=token,
                    user_auth=self._read_as_user,
                )
                for tweet in page.get("data") or []:
                    refs = tweet.get("referenced_tweets") or []
                    if any(r.get("type") == "replied_to" and str(r.get("id")) == mention.external_id for r in refs):
                        created = tweet.get("created_at")
                        return PostedReply(str(tweet["id"]), _x_time(created) if created else None)
                token = (page.get("meta") or {}).get("next_token")
                if not token:
                    return None
        except tweepy.HTTPException as error:
            raise DeliveryUncertain(f"could not read the brand's own tweets: {_x_message(error)}") from None
        except (requests.RequestException, ValueError) as error:
            raise DeliveryUncertain(f"could not read the brand's own tweets: {error}") from None
        raise DeliveryUncertain(f"the reply was not in the last {self.lookup_pages} pages of the brand's tweets")
