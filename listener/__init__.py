"""Harken's listening side: settings, storage, platform clients, collectors, sentiment."""

__version__ = "0.1.0"
