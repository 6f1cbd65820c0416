"""Logging set-up: one format, and secrets masked in every line, tracebacks included.

Library errors can carry a URL with the bot token in it (Telegram file URLs are `/file/bot<token>/…`), so
masking happens where the line is written, not where it is made."""
from __future__ import annotations

import logging

from kiebot.config import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str], fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        # The token's secret half alone can appear too (e.g. URL-encoded paths keep it intact).
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def secrets_of(settings: Settings) -> list[str]:
    values = []
    if settings.bot_token:
        token = settings.bot_token.get_secret_value()
        values += [token, token.split(":", 1)[-1]]
    if settings.kie_api_key:
        values.append(settings.kie_api_key.get_secret_value())
    return values


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets_of(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
