"""Secrets never reach the log, even inside a traceback."""
from __future__ import annotations

import logging

from kiebot.config import Settings
from kiebot.logs import MASK, RedactingFormatter, secrets_of

TOKEN = "123456789:AAH-secret-part-of-the-bot-token_xyz"
KEY = "kie-0123456789abcdef0123456789abcdef"


def test_token_and_key_are_masked_in_messages_and_tracebacks() -> None:
    settings = Settings(_env_file=None, bot_token=TOKEN, kie_api_key=KEY)
    formatter = RedactingFormatter(secrets_of(settings))
    try:
        raise RuntimeError(f"404 for url='https://api.telegram.org/file/bot{TOKEN}/photos/1.jpg'")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key %s failed", (KEY,), sys.exc_info())
    line = formatter.format(record)
    assert TOKEN not in line and TOKEN.split(":")[1] not in line and KEY not in line
    assert line.count(MASK) == 2 and "photos/1.jpg" in line


def test_nothing_to_mask_without_secrets() -> None:
    formatter = RedactingFormatter(secrets_of(Settings(_env_file=None)))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain %s", ("text",), None)
    assert formatter.format(record).endswith("plain text")
