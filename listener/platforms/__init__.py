"""The platform registry: the one list of the platforms Harken listens and answers on.

Each platform is a package beside this file (``x/``, ``reddit/``) holding everything
it knows: its settings section, client, collectors, reply publisher, text rules,
raw-payload readers and simulator. The rest of Harken never names a platform; it
asks this module. Adding a platform is adding its package and one line to
``_PACKAGES`` below.
"""

from __future__ import annotations

from collections.abc import Iterable

from listener.errors import HarkenError
from listener.platforms import bluesky, mastodon, reddit, x
from listener.platforms.base import Platform, ReplyTooLong
from listener.platforms.collector import Collector, SourceSpec
from listener.platforms.publisher import Publisher, PublisherUnavailable

_PACKAGES = (x, reddit, bluesky, mastodon)

_REGISTRY: dict[str, Platform] = {package.PLATFORM.name: package.PLATFORM for package in _PACKAGES}


class UnknownPlatform(HarkenError, ValueError):
    """A platform name that no package registers."""


def register(platform: Platform) -> None:
    """Add a platform at run time (a plug-in, or a test's toy platform). Its settings section is only
    read by settings objects created afterwards."""
    _REGISTRY[platform.name] = platform


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def all_platforms() -> list[Platform]:
    return list(_REGISTRY.values())


def platform_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_platform(name: str) -> Platform:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownPlatform(f"unknown platform {name!r}: one of {', '.join(_REGISTRY)}") from None


def collectors() -> dict[str, type[Collector]]:
    """Every collector class by its source kind, across platforms."""
    return {cls.kind: cls for platform in _REGISTRY.values() for cls in platform.collectors}


def configured_sources(settings: object) -> list[SourceSpec]:
    """Every source the settings ask for, across all platforms and collector kinds."""
    return [
        spec
        for platform in _REGISTRY.values()
        for cls in platform.collectors
        for spec in cls.specs(platform.settings_of(settings))
    ]


def noisy_loggers() -> Iterable[str]:
    return [name for platform in _REGISTRY.values() for name in platform.noisy_loggers]


def make_publisher(name: str, settings: object, lookup_pages: int) -> Publisher:
    """The publisher of platform ``name``, or :class:`PublisherUnavailable` saying why not."""
    try:
        platform = get_platform(name)
    except UnknownPlatform:
        raise PublisherUnavailable(f"Harken cannot post to {name!r}") from None
    try:
        return platform.publisher(platform.settings_of(settings), lookup_pages)
    except PublisherUnavailable:
        raise
    except Exception as error:  # e.g. praw refusing a missing client id: a configuration problem
        raise PublisherUnavailable(f"cannot make the {name} client: {error}") from None


def reply_length(name: str, text: str) -> int:
    return get_platform(name).reply_length(text)


def reply_limit(name: str, settings: object | None = None) -> int:
    """Platform ``name``'s reply limit; with ``settings``, the limit where the configured account posts
    (a Mastodon instance's own), else the platform's usual one."""
    platform = get_platform(name)
    return platform.reply_limit if settings is None else platform.limit_for(platform.settings_of(settings))


def fits(name: str, text: str, settings: object | None = None) -> bool:
    return get_platform(name).fits(text, reply_limit(name, settings))


def check_fits(name: str, text: str, settings: object | None = None) -> None:
    """Raise :class:`ReplyTooLong` when ``text`` is over platform ``name``'s limit (see :func:`reply_limit`)."""
    get_platform(name).check_fits(text, reply_limit(name, settings))


def display_handle(name: str, handle: str | None) -> str:
    """A handle as its platform writes it (``@alice``, ``u/alice``); placeholders and unknowns as they are."""
    if not handle:
        return ""
    platform = _REGISTRY.get(name)
    if platform is None or handle.startswith("id:"):
        return handle
    return platform.display_handle(handle)


def platform_title(name: str | None) -> str:
    """A platform as people call it (``Reddit`` for ``reddit``); a name the registry lacks as it is (a platform
    removed since, whose old mentions stay, or the digest's "other")."""
    platform = _REGISTRY.get(name or "")
    return platform.title if platform is not None else name or ""


__all__ = [
    "Platform",
    "ReplyTooLong",
    "UnknownPlatform",
    "all_platforms",
    "check_fits",
    "collectors",
    "configured_sources",
    "display_handle",
    "fits",
    "get_platform",
    "make_publisher",
    "noisy_loggers",
    "platform_names",
    "platform_title",
    "register",
    "reply_length",
    "reply_limit",
    "unregister",
]
