"""Posting a reply on a platform, and finding one that was posted, through tweepy and praw.

One class per platform, each with two entry points: :meth:`~Publisher.post_reply`
and :meth:`~Publisher.find_own_reply` (the brand account's own reply to a mention,
posted since a given time, for the sender's crash recovery). They turn the
clients' many exceptions into two named ones, because the sender must decide only
one thing: did the platform certainly refuse (:class:`PlatformRejected`: safe to
mark failed), or might the reply be there (:class:`DeliveryUncertain`: look before
posting again)?
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import praw
import prawcore
import requests
import tweepy

from listener.clients import make_reddit_client, make_x_client
from listener.errors import HarkenError
from listener.models import Mention
from listener.settings import Settings


class PublishError(HarkenError):
    """Base: the platform did not confirm the reply."""


class PlatformRejected(PublishError):
    """The platform refused the reply; it is certainly not posted. The message is the platform's."""


class DeliveryUncertain(PublishError):
    """No clear answer (timeout, connection lost, 5xx): the reply may or may not be posted."""


class PublisherUnavailable(PublishError):
    """The platform is not configured for posting (disabled, or no account)."""


@dataclass(frozen=True)
class PostedReply:
    platform_id: str
    created_at: datetime | None = None


class Publisher(Protocol):
    platform: ClassVar[str]

    def post_reply(self, mention: Mention, text: str) -> PostedReply: ...

    def find_own_reply(self, mention: Mention, since: datetime) -> PostedReply | None: ...


def _x_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _x_message(error: tweepy.HTTPException) -> str:
    messages = [m for m in getattr(error, "api_messages", []) if m]
    status = getattr(error.response, "status_code", "?")
    return f"X answered {status}: {'; '.join(messages) or str(error)}"


class XPublisher:
    """Replies with ``create_tweet(in_reply_to_tweet_id=...)`` as the brand account (OAuth 1.0a)."""

    platform: ClassVar[str] = "x"

    def __init__(self, settings: Settings, lookup_pages: int = 5) -> None:
        if not settings.x.brand_username:
            raise PublisherUnavailable("x.brand_username is not set: Harken cannot tell its own replies")
        self.settings = settings
        self.client = make_x_client(settings.x)
        self.lookup_pages = lookup_pages
        self._brand_id: str | None = None
        # Reads use the app-only token when there is one, else the brand's own OAuth 1.0a context.
        self._read_as_user = not settings.x.bearer_token.get_secret_value()

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
            answer: Any = self.client.get_user(username=self.settings.x.brand_username, user_auth=self._read_as_user)
            data = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(data, dict):
                raise PlatformRejected(f"X does not know @{self.settings.x.brand_username}")
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


def _reddit_message(error: praw.exceptions.RedditAPIException) -> str:
    items = [f"{item.error_type}: {item.message}" for item in error.items]
    return f"Reddit refused the comment: {'; '.join(items) or str(error)}"


class RedditPublisher:
    """Replies to the comment or post with praw, as the brand's Reddit account."""

    platform: ClassVar[str] = "reddit"

    def __init__(self, settings: Settings, lookup_pages: int = 5) -> None:
        if not settings.reddit.username:
            raise PublisherUnavailable("reddit.username is not set: Harken cannot post or tell its own replies")
        self.settings = settings
        self.reddit = make_reddit_client(settings.reddit)
        self.lookup_pages = lookup_pages

    def _parent(self, mention: Mention) -> Any:
        kind, _, thing_id = mention.external_id.partition("_")
        if kind == "t1":
            return self.reddit.comment(id=thing_id)
        if kind == "t3":
            return self.reddit.submission(id=thing_id)
        raise PlatformRejected(f"{mention.external_id} is neither a comment nor a post")

    def post_reply(self, mention: Mention, text: str) -> PostedReply:
        try:
            comment = self._parent(mention).reply(body=text)
        except praw.exceptions.RedditAPIException as error:
            raise PlatformRejected(_reddit_message(error)) from None
        except prawcore.TooManyRequests as error:
            raise PlatformRejected(f"Reddit answered 429 (rate limited): {error}") from None
        except (prawcore.ServerError, prawcore.RequestException) as error:
            raise DeliveryUncertain(f"Reddit did not answer clearly: {error}") from None
        except prawcore.PrawcoreException as error:  # 401/403/404 and friends: refused
            raise PlatformRejected(f"Reddit refused the request: {error}") from None
        if comment is None:
            raise DeliveryUncertain("Reddit answered without the new comment")
        return PostedReply(str(comment.fullname), datetime.fromtimestamp(comment.created_utc, UTC))

    def find_own_reply(self, mention: Mention, since: datetime) -> PostedReply | None:
        """The account's newest comments (``/user/{name}/comments``): one whose parent is the mention."""
        cutoff = since.timestamp()
        limit = 100 * self.lookup_pages
        seen = 0
        try:
            for comment in self.reddit.redditor(self.settings.reddit.username).comments.new(limit=limit):
                seen += 1
                if comment.created_utc < cutoff:
                    return None
                if comment.parent_id == mention.external_id:
                    return PostedReply(str(comment.fullname), datetime.fromtimestamp(comment.created_utc, UTC))
        except prawcore.PrawcoreException as error:
            raise DeliveryUncertain(f"could not read the account's own comments: {error}") from None
        if seen >= limit:
            raise DeliveryUncertain(f"the reply was not in the account's last {limit} comments")
        return None


PUBLISHERS: dict[str, type[XPublisher] | type[RedditPublisher]] = {"x": XPublisher, "reddit": RedditPublisher}
"""One publisher class per platform: adding a platform is adding a class here."""


def make_publisher(platform: str, settings: Settings) -> Publisher:
    try:
        cls = PUBLISHERS[platform]
    except KeyError:
        raise PublisherUnavailable(f"Harken cannot post to {platform!r}") from None
    try:
        return cls(settings, lookup_pages=settings.sender.lookup_pages)
    except PublisherUnavailable:
        raise
    except Exception as error:  # e.g. praw refusing a missing client id: a configuration problem
        raise PublisherUnavailable(f"cannot make the {platform} client: {error}") from None
