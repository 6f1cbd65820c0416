"""One update at a time per user across replicas: with Redis, two dispatchers' locks for one user exclude each
other (in webhook mode a user's two quick updates may reach two replicas), and each update still gets its own FSM
row scope."""
from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation
from redis.asyncio import Redis

from kiebot.bot.factory import _isolation
from kiebot.store.fsm import RowScopedIsolation, SqlStorage

KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)


def storage() -> SqlStorage:
    # The lock and the scope never touch the database.
    return SqlStorage(None, table=object())  # type: ignore[arg-type]


def test_without_redis_the_lock_is_this_process_s() -> None:
    isolation = _isolation(storage(), None)
    assert isinstance(isolation, RowScopedIsolation) and isinstance(isolation.inner, SimpleEventIsolation)


@pytest.mark.redis
async def test_two_replicas_handle_one_user_s_updates_one_at_a_time() -> None:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    redis = Redis.from_url(url)
    prefix = f"test-isolation-{uuid.uuid4().hex}"
    replicas = [storage().isolation(RedisEventIsolation(redis, key_builder=DefaultKeyBuilder(prefix=prefix)))
                for _ in range(2)]
    assert isinstance(_isolation(storage(), redis).inner, RedisEventIsolation)
    inside: list[int] = []
    overlaps = 0

    async def handle(replica: RowScopedIsolation, n: int) -> None:
        nonlocal overlaps
        async with replica.lock(KEY):
            overlaps += bool(inside)
            inside.append(n)
            await asyncio.sleep(0.05)
            inside.remove(n)

    try:
        await asyncio.gather(*(handle(replicas[n % 2], n) for n in range(6)))
    finally:
        await redis.aclose()
    assert overlaps == 0
