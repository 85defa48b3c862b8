"""What a reply publisher is: posting a reply on a platform, and finding one that was posted.

One class per platform (``listener/platforms/<name>/publisher.py``), each with two
entry points: :meth:`~Publisher.post_reply` and :meth:`~Publisher.find_own_reply`
(the brand account's own reply to a mention,
posted since a given time, for the sender's crash recovery). They turn the
clients' many exceptions into two named ones, because the sender must decide only
one thing: did the platform certainly refuse (:class:`PlatformRejected`: safe to
mark failed), or might the reply be there (:class:`DeliveryUncertain`: look before
posting again)?
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

from listener.errors import HarkenError

if TYPE_CHECKING:  # the tables (SQLModel, SQLAlchemy) are not needed to read settings, which import this module
    from listener.models import Mention


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
