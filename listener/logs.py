"""Logging that never shows a secret.

Platform clients log request headers (tokens) at DEBUG, so each platform names the
loggers to hold at INFO (``Platform.noisy_loggers``), and a filter redacts any
configured secret that still reaches a handler.
"""

from __future__ import annotations

import logging

from listener.platforms import noisy_loggers

# Shared by every HTTP client: urllib3 logs each request line at DEBUG.
HTTP_LOGGERS = ("urllib3", "requests_oauthlib", "oauthlib")


class SecretRedactingFilter(logging.Filter):
    """Replaces any configured secret that reaches a log record with ``***``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str, secrets: list[str]) -> None:
    """Log at ``level``, never with secrets.

    Platform clients log request headers (tokens) and request data at DEBUG, so
    every platform's ``noisy_loggers`` are held at INFO
    whatever the level, and a filter redacts any secret that still reaches a handler.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root.setLevel(level)
    for noisy in (*noisy_loggers(), *HTTP_LOGGERS):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(level)))
    redactor = SecretRedactingFilter(secrets)
    for handler in root.handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, SecretRedactingFilter)]
        handler.addFilter(redactor)
