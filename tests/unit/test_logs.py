"""Logging: secrets masked in every line (tracebacks included), one context carried by contextvars, JSON lines,
and a change logged once, on commit only."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from kiebot.config import Settings
from kiebot.logs import MASK, JsonFormatter, TextFormatter, bind, bound, context, fields, make_handler, secrets_of
from kiebot.store.events import log_on_commit

TOKEN = "123456789:AAH-secret-part-of-the-bot-token_xyz"
KEY = "kie-0123456789abcdef0123456789abcdef"
HMAC = "hmac-0123456789abcdef"


def record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("x", logging.ERROR, __file__, 1, msg, args, sys.exc_info() if exc else None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_every_secret_setting_and_url_password_is_a_secret() -> None:
    settings = Settings(_env_file=None, bot_token=TOKEN, kie_api_key=KEY, kie_webhook_hmac_key=HMAC,
                        webhook_url="https://bot.example.com/tg", webhook_secret="webhook-secret-token_0123",
                        database_url="postgresql+asyncpg://bot:pa%24%24word-long@db/kiebot",
                        redis_url="redis://:redis-password-1@cache:6379/0")
    secrets = set(secrets_of(settings))
    assert {TOKEN, TOKEN.split(":")[1], KEY, HMAC, "webhook-secret-token_0123", "pa%24%24word-long", "pa$$word-long",
            "redis-password-1"} <= secrets


def test_token_and_key_are_masked_in_messages_and_tracebacks() -> None:
    formatter = TextFormatter(secrets_of(Settings(_env_file=None, bot_token=TOKEN, kie_api_key=KEY)))
    try:
        raise RuntimeError(f"404 for url='https://api.telegram.org/file/bot{TOKEN}/photos/1.jpg'")
    except RuntimeError:
        line = formatter.format(record("key %s failed", KEY, exc=True))
    assert TOKEN not in line and TOKEN.split(":")[1] not in line and KEY not in line
    assert line.count(MASK) == 2 and "photos/1.jpg" in line


def test_nothing_to_mask_without_secrets() -> None:
    formatter = TextFormatter(secrets_of(Settings(_env_file=None)))
    assert formatter.format(record("plain %s", "text")).endswith("plain text")


def test_context_and_fields_in_a_readable_line() -> None:
    formatter = TextFormatter([])
    with bound(update=7, user=42):
        with bound(job=3, task=None):  # None values are left out
            line = formatter.format(record("step", **fields(ms=12)))
        outside = formatter.format(record("after"))
    assert line.endswith("step [update=7 user=42 job=3 ms=12]")
    assert outside.endswith("after [update=7 user=42]")
    assert formatter.format(record("none")).endswith("none")


def test_json_line_carries_context_fields_and_masked_traceback() -> None:
    formatter = JsonFormatter([KEY])
    with bound(job=5, model="google/nano-banana"):
        try:
            raise ValueError(f"key {KEY}")
        except ValueError:
            line = formatter.format(record("KIE %s failed", "POST", exc=True, **fields(status=500)))
    data = json.loads(line)
    assert data["msg"] == "KIE POST failed" and data["level"] == "ERROR" and data["logger"] == "x"
    assert (data["job"], data["model"], data["status"]) == (5, "google/nano-banana", 500)
    assert "ValueError: key ***" in data["exc"] and KEY not in line


async def test_tasks_inherit_the_context_and_bind_adds_to_it() -> None:
    async def step() -> dict[str, object]:
        bind(task="t-1")  # learned mid-step: later lines of this task carry it
        return dict(context())

    with bound(job=9):
        seen = await asyncio.create_task(step())
        assert dict(context()) == {"job": 9}  # the task's bind stays in the task
    assert seen == {"job": 9, "task": "t-1"} and dict(context()) == {}


def test_handler_writes_json_when_asked() -> None:
    stream = io.StringIO()
    handler = make_handler(Settings(_env_file=None, kie_api_key=KEY, log_format="json"), stream)
    logger = logging.getLogger("kiebot.test.json")
    logger.addHandler(handler)
    try:
        logger.warning("key is %s", KEY)
    finally:
        logger.removeHandler(handler)
    assert json.loads(stream.getvalue())["msg"] == f"key is {MASK}"


async def test_changes_are_logged_once_on_commit_only(caplog) -> None:  # type: ignore[no-untyped-def]
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    sessions = async_sessionmaker(engine)
    caplog.set_level(logging.INFO, logger="kiebot.changes")
    try:
        async with sessions() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
            log_on_commit(session, "kept", n=1)
            try:
                async with session.begin_nested():  # a savepoint undone takes its own lines only
                    await session.execute(text("INSERT INTO t VALUES (1)"))
                    log_on_commit(session, "undone")
                    raise RuntimeError
            except RuntimeError:
                pass
            async with session.begin_nested():
                await session.execute(text("INSERT INTO t VALUES (2)"))
                log_on_commit(session, "savepoint kept")
            assert not caplog.records  # nothing before the commit
            await session.commit()
        async with sessions() as session:
            await session.execute(text("INSERT INTO t VALUES (3)"))
            log_on_commit(session, "rolled back")
            await session.rollback()
            await session.commit()
        async with sessions() as session:
            await session.execute(text("INSERT INTO t VALUES (4)"))
            log_on_commit(session, "closed without a commit")
    finally:
        await engine.dispose()
    assert [r.getMessage() for r in caplog.records] == ["kept", "savepoint kept"]
    assert caplog.records[0].kiebot_fields == {"n": 1}
