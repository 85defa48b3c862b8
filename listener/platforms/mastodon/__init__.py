"""Mastodon: mentions from notifications, hashtag timelines, replies as statuses (through ``Mastodon.py``)."""
