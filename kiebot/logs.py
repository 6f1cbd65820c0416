"""Logging: one context per request, JSON or readable lines, and secrets masked in every line.

- **Context.** `bound(update=…, user=…, job=…, task=…, model=…)` puts fields in a `contextvars` context for the code
  it wraps; every record logged inside carries them (asyncio copies the context into tasks, so a handler's or a job
  step's own tasks carry it too). Nobody passes ids by hand to a log call.
- **Fields.** A call may add structured fields of its own: `log.info("…", extra=fields(status=200, ms=12))`.
- **Format.** `LOG_FORMAT=json`: one JSON object per line (`ts`, `level`, `logger`, `msg`, the context, the fields,
  `exc`). Otherwise a readable line with the context and fields appended as `key=value`.
- **Secrets.** Library errors can carry a URL with the bot token in it (Telegram file URLs are `/file/bot<token>/…`),
  so masking happens where the line is written, not where it is made: every secret setting, and the password of the
  database and Redis URLs, becomes `***` in the finished line, tracebacks included.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from kiebot.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: ContextVar[Mapping[str, Any]] = ContextVar("kiebot_log_context", default=_EMPTY)
_FIELDS = "kiebot_fields"


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Add `values` (None ones skipped) to the log context of the code inside."""
    token = _context.set(MappingProxyType({**_context.get(), **{k: v for k, v in values.items() if v is not None}}))
    try:
        yield
    finally:
        _context.reset(token)


def bind(**values: Any) -> None:
    """Add `values` to the current context until the enclosing `bound()` ends (e.g. a task id learned mid-step)."""
    _context.set(MappingProxyType({**_context.get(), **{k: v for k, v in values.items() if v is not None}}))


def context() -> Mapping[str, Any]:
    return _context.get()


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call: structured fields of this one record."""
    return {_FIELDS: values}


def _record_fields(record: logging.LogRecord) -> dict[str, Any]:
    # Logging formats in the thread and context of the call, so the context read here is the caller's.
    return {**_context.get(), **getattr(record, _FIELDS, {})}


class Masker:
    """Replaces each secret by `***` (longest first, so a secret containing another is masked whole)."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


class _Masking(logging.Formatter):
    def __init__(self, secrets: list[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.mask = Masker(secrets)


class TextFormatter(_Masking):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__(secrets, TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = _record_fields(record)
        if extra:
            tail = " ".join(f"{key}={value}" for key, value in extra.items())
            head, sep, rest = text.partition("\n")  # keep a traceback below the line
            text = f"{head} [{tail}]{sep}{rest}"
        return self.mask(text)


class JsonFormatter(_Masking):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **_record_fields(record),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return self.mask(json.dumps(line, ensure_ascii=False, default=str))


# Kept for callers of the earlier name (tests, tools): a readable line with secrets masked.
RedactingFormatter = TextFormatter


def secrets_of(settings: Settings) -> list[str]:
    """Every value that must never be written: each secret setting (the bot token's secret half alone too, as a
    URL-encoded path keeps it whole) and the passwords inside the database and Redis URLs."""
    values: list[str] = []
    for _, value in settings:
        if isinstance(value, SecretStr) and value.get_secret_value():
            values.append(value.get_secret_value())
    if settings.bot_token:
        values.append(settings.bot_token.get_secret_value().split(":", 1)[-1])
    for url in (settings.database_url, settings.redis_url):
        password = urlsplit(url).password if url else None
        if password:
            values += [password, unquote(password)]
    return values


def make_handler(settings: Settings, stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    secrets = secrets_of(settings)
    handler.setFormatter(JsonFormatter(secrets) if settings.log_format == "json" else TextFormatter(secrets))
    return handler


def setup_logging(settings: Settings) -> None:
    root = logging.getLogger()
    root.handlers[:] = [make_handler(settings)]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
