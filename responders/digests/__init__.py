"""Sentiment digests and spike alerts: what managers read instead of the inbox.

``periods`` names the time ranges, ``compute`` aggregates a period in SQL into a
typed :class:`~responders.digests.compute.Digest`, ``terms`` finds the negative
drivers, ``render`` turns a digest or an alert into an email (HTML with charts,
plain text) and a webhook payload, ``delivery`` sends them and records every
attempt, ``alerts`` holds the spike rule, and ``schedule`` adds the jobs to
``harken run``.
"""
