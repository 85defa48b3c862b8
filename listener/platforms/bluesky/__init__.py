"""Bluesky: mentions from notifications, keywords from Jetstream, replies as posts (through ``atproto``)."""
