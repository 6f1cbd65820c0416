"""How long Telegram waits for the bot's 200 in webhook mode, by where the update ids are kept.

For each store (none: a baseline that takes every id; the database: SQLite file or PostgreSQL; Redis) it serves
`kiebot.bot.webhook.WebhookHandler` (aiogram's SimpleRequestHandler, handling in the background) on 127.0.0.1 with a
dispatcher whose one handler does nothing, and POSTs N updates one after another, then N more from `--concurrency`
senders at once, timing POST → 200. Prints p50/p95/max in ms. Nothing is asserted.

    .venv/bin/python bench/webhook_ack.py [--updates 500] [--concurrency 20]
        [--database-url postgresql+asyncpg://...] [--redis-url redis://127.0.0.1:6379/6]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.journeys import database as fresh_database  # noqa: E402
from kiebot.bot.webhook import DatabaseUpdateLog, RedisUpdateLog, UpdateLog, WebhookHandler  # noqa: E402
from kiebot.store import db  # noqa: E402
from kiebot.web import start_web  # noqa: E402
from tests.e2e.conftest import TOKEN  # noqa: E402  (the fake Telegram's made-up token)

SECRET = "bench-secret"


class TakeAll:
    async def take(self, update_id: int) -> bool:
        return True


def update(update_id: int) -> dict[str, Any]:
    user = {"id": 1001 + update_id % 50, "is_bot": False, "first_name": "U"}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1, "text": "hi", "from": user,
                                                "chat": {"id": user["id"], "type": "private", "first_name": "U"}}}


async def measure(name: str, seen: UpdateLog, updates: int, concurrency: int) -> None:
    router = Router()

    @router.message()
    async def nothing(message: Message) -> None:
        return None

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = Bot(TOKEN)
    handler = WebhookHandler(dispatcher, bot, SECRET, seen)
    app = web.Application()
    handler.register_on(app, "/hook")
    server = await start_web(app, "127.0.0.1", 0)
    first_id = random.randrange(10**9)
    timings: dict[str, list[float]] = {"sequential": [], "concurrent": []}
    async with aiohttp.ClientSession() as http:
        async def post(update_id: int, into: list[float]) -> None:
            started = time.perf_counter()
            async with http.post(f"{server.url}/hook", json=update(update_id),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                assert response.status == 200, response.status
            into.append((time.perf_counter() - started) * 1000)

        for i in range(updates):
            await post(first_id + i, timings["sequential"])
        queue = iter(range(first_id + updates, first_id + 2 * updates))

        async def sender() -> None:
            for update_id in queue:
                await post(update_id, timings["concurrent"])

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    await handler.drain()
    await server.stop()
    await bot.session.close()
    for mode, values in timings.items():
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"{name:<12} {mode:<10} n={len(values):<5} p50={statistics.median(values):6.2f} ms  "
              f"p95={p95:6.2f} ms  max={values[-1]:6.2f} ms")


async def measure_database(url: str, updates: int, concurrency: int) -> None:
    await db.migrate(url)
    engine = db.create_engine(url)
    await measure(engine.dialect.name, DatabaseUpdateLog(db.Database.of(engine), ttl=3600), updates, concurrency)
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    await measure("none", TakeAll(), args.updates, args.concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        async with fresh_database(args.database_url, Path(tmp)) as url:  # a new PostgreSQL database, dropped after
            await measure_database(url, args.updates, args.concurrency)
    if args.redis_url:

        from redis.asyncio import Redis

        redis = Redis.from_url(args.redis_url)
        await measure("redis", RedisUpdateLog(redis, random.randrange(10**12), ttl=3600), args.updates,
                      args.concurrency)
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
