"""Replies on Reddit through praw: post one, and find the account's own reply for exactly-once sending."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import praw
import prawcore

from listener.models import Mention
from listener.platforms.publisher import DeliveryUncertain, PlatformRejected, PostedReply, PublisherUnavailable
from listener.platforms.reddit.client import WriteOutcomeUnknown, make_reddit_client
from listener.platforms.reddit.settings import RedditSettings


def _reddit_message(error: praw.exceptions.RedditAPIException) -> str:
    items = [f"{item.error_type}: {item.message}" for item in error.items]
    return f"Reddit refused the comment: {'; '.join(items) or str(error)}"


class RedditPublisher:
    """Replies to the comment or post with praw, as the brand's Reddit account."""

    platform: ClassVar[str] = "reddit"

    def __init__(self, section: RedditSettings, lookup_pages: int = 5) -> None:
        if not section.username:
            raise PublisherUnavailable("reddit.username is not set: Harken cannot post or tell its own replies")
        self.section = section
        self.reddit = make_reddit_client(section, single_attempt_writes=True)
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
        except WriteOutcomeUnknown as error:
            raise DeliveryUncertain(f"Reddit did not answer clearly: {error}") from None
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
            for comment in self.reddit.redditor(self.section.username).comments.new(limit=limit):
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
