"""Harken's answering side: suggestions, the approval queue, the sender, digests, the web app."""
