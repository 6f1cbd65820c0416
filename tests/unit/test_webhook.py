"""Webhook mode: the secret check, an update delivered twice handled once (Redis and database), the webhook set only
when Telegram has another URL, and a stale webhook deleted before polling."""
from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from sqlalchemy import func, select

from kiebot.bot.webhook import (
    DatabaseUpdateLog,
    RedisUpdateLog,
    UpdateLog,
    WebhookHandler,
    drop_stale_webhook,
    ensure_webhook,
)
from kiebot.store.db import Database
from kiebot.store.models import SeenUpdate
from kiebot.web import WebServer, start_web
from tests.fakes import FakeTelegram
from tests.store_fixtures import StoreDB, store_db  # noqa: F401

TOKEN = "123456789:TEST_token_for_the_fake_telegram_api_00"
SECRET = "s3cret-token_for-tests"
REDIS_ENV = "TEST_REDIS_URL"
PATH = "/telegram/webhook"


def update(update_id: int, text: str = "hello") -> dict[str, Any]:
    user = {"id": 1001, "is_bot": False, "first_name": "Alice"}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1, "text": text, "from": user,
                                                "chat": {"id": 1001, "type": "private", "first_name": "Alice"}}}


class Served:
    """A WebhookHandler over a dispatcher that records the texts it handled, served on 127.0.0.1."""

    def __init__(self, handler: WebhookHandler, web: WebServer, handled: list[str]) -> None:
        self.handler, self.web, self.handled = handler, web, handled

    async def post(self, body: Any, secret: str | None = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{self.web.url}{PATH}", json=body, headers=headers) as response:
                return response.status

    async def settled(self) -> list[str]:
        """What was handled once the background handling is over (its task exists before the 200 is sent)."""
        await self.handler.drain()
        return self.handled


async def serve(seen: UpdateLog) -> tuple[Served, Bot]:
    handled: list[str] = []
    router = Router()

    @router.message()
    async def record(message: Message) -> None:
        handled.append(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = Bot(TOKEN)
    handler = WebhookHandler(dispatcher, bot, SECRET, seen)
    from aiohttp import web

    app = web.Application()
    handler.register_on(app, PATH)
    return Served(handler, await start_web(app, "127.0.0.1", 0), handled), bot


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
async def update_log(request: pytest.FixtureRequest, store_db: StoreDB) -> AsyncIterator[UpdateLog]:  # noqa: F811
    if request.param == "database":
        yield DatabaseUpdateLog(Database.of(store_db.engine), ttl=3600)
        return
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:  # a bot id of its own: parallel runs never share keys
        yield RedisUpdateLog(redis, bot_id=random.randrange(10**12, 10**13), ttl=60)
    finally:
        await redis.aclose()


@pytest.fixture
async def served(update_log: UpdateLog) -> AsyncIterator[Served]:
    app, bot = await serve(update_log)
    try:
        yield app
    finally:
        await app.web.stop()
        await bot.session.close()


async def test_a_call_without_the_right_secret_gets_401_and_is_not_handled(served: Served) -> None:
    assert await served.post(update(1), secret=None) == 401
    assert await served.post(update(2), secret="not-the-secret") == 401
    assert await served.post(update(3), secret="") == 401
    assert await served.settled() == []


async def test_a_repeated_update_id_is_handled_once(served: Served) -> None:
    assert await served.post(update(10, "first")) == 200
    assert await served.post(update(10, "first")) == 200  # Telegram is told it arrived: it stops resending
    assert await served.post(update(11, "second")) == 200
    assert sorted(await served.settled()) == ["first", "second"]


async def test_two_replicas_sharing_the_log_handle_an_update_once(update_log: UpdateLog) -> None:
    one, bot_one = await serve(update_log)
    two, bot_two = await serve(update_log)
    try:
        assert await one.post(update(20, "once")) == 200
        assert await two.post(update(20, "once")) == 200
        assert await one.settled() + await two.settled() == ["once"]
    finally:
        for app, bot in ((one, bot_one), (two, bot_two)):
            await app.web.stop()
            await bot.session.close()


async def test_a_body_without_an_update_id_is_refused(served: Served) -> None:
    assert await served.post({"message": {}}) == 400
    assert await served.post([1, 2]) == 400
    assert await served.settled() == []


async def test_after_a_stop_began_updates_get_503_so_telegram_sends_them_again(served: Served) -> None:
    await served.handler.drain()
    assert await served.post(update(30)) == 503
    assert served.handled == []


class BrokenLog:
    async def take(self, update_id: int) -> bool:
        raise ConnectionError("redis is down")


async def test_when_the_update_log_is_unreachable_telegram_gets_503_and_nothing_is_handled() -> None:
    app, bot = await serve(BrokenLog())
    try:
        assert await app.post(update(40)) == 503
        assert await app.settled() == []
    finally:
        await app.web.stop()
        await bot.session.close()


async def test_the_database_log_forgets_ids_older_than_its_ttl(store_db: StoreDB) -> None:  # noqa: F811
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    clock = [now]
    log = DatabaseUpdateLog(Database.of(store_db.engine), ttl=3600, clock=lambda: clock[0])
    assert await log.take(1) is True
    clock[0] = now + timedelta(hours=2)  # past the TTL and the prune interval
    assert await log.take(2) is True
    async with store_db.sessionmaker() as session:
        ids = (await session.execute(select(SeenUpdate.update_id))).scalars().all()
        assert ids == [2]
        assert await session.scalar(select(func.count()).select_from(SeenUpdate)) == 1


# --------------------------------------------------------------------------- setting the webhook


@pytest.fixture
async def tg_bot() -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    async with FakeTelegram(token=TOKEN) as tg:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
        try:
            yield tg, bot
        finally:
            await bot.session.close()


async def test_set_webhook_is_not_called_when_telegram_already_has_the_url(tg_bot: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = tg_bot
    url = "http://127.0.0.1:9/telegram/webhook"
    assert await ensure_webhook(bot, url, SECRET, ["message", "callback_query"]) is True
    assert await ensure_webhook(bot, url, SECRET, ["callback_query", "message"]) is False  # the next replica
    assert len(tg.calls("setWebhook")) == 1
    assert tg.webhook_url == url


async def test_set_webhook_is_called_when_telegram_has_another_url(tg_bot: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = tg_bot
    await bot.set_webhook("http://127.0.0.1:9/old", secret_token="old")
    assert await ensure_webhook(bot, "http://127.0.0.1:9/new", SECRET, ["message"]) is True
    assert tg.webhook_url == "http://127.0.0.1:9/new"
    assert tg.calls("setWebhook")[-1].params["secret_token"] == SECRET


async def test_polling_deletes_a_stale_webhook_first(tg_bot: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = tg_bot
    await drop_stale_webhook(bot)
    assert tg.calls("deleteWebhook") == []  # none set: nothing to delete
    await bot.set_webhook("http://127.0.0.1:9/telegram/webhook", secret_token=SECRET)
    await drop_stale_webhook(bot)
    assert tg.webhook_url is None
    assert await bot.get_updates(timeout=0) == []  # no 409 any more


async def test_polling_says_why_when_a_stale_webhook_cannot_be_deleted(tg_bot: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = tg_bot
    await bot.set_webhook("http://127.0.0.1:9/telegram/webhook", secret_token=SECRET)
    tg.fail_next("deleteWebhook", 400, "Bad Request: something went wrong")
    with pytest.raises(RuntimeError, match="refused to delete it .*something went wrong.*set WEBHOOK_URL"):
        await drop_stale_webhook(bot)
