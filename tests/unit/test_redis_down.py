"""While Redis cannot be reached the shared limits fall back to this process's own, so a Redis outage slows nothing
down and fails no job; they are shared again once it is back."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from kiebot.bot.pace import RedisPaces
from kiebot.engine.pause import RedisPause
from kiebot.kie.ratelimit import RedisSlidingWindowLimiter
from tests.engine.kit import Clock


@pytest.fixture
async def unreachable() -> AsyncIterator[Any]:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)  # nothing listens on port 1
    try:
        yield redis
    finally:
        await redis.aclose()


async def test_the_kie_limiter_counts_in_the_process(unreachable, caplog) -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RedisSlidingWindowLimiter(unreachable, {"recordInfo": (2, 1.0)}, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        async with limiter.slot("recordInfo"):
            pass
    assert slept == [1.0]  # the third call waited for the process's own window
    assert sum("Redis unreachable" in r.message for r in caplog.records) == 1  # said once per outage


async def test_the_telegram_paces_are_kept_in_the_process(unreachable) -> None:
    now = [100.0]
    paces = RedisPaces(unreachable, global_rate=10, chat_rate=1, chat_burst=1, clock=lambda: now[0])
    assert await paces.reserve(7) == 0.0
    assert await paces.take_if_free(7) == 1.0
    await paces.hold_off(7, 5.0)
    assert await paces.reserve(7) == 5.0


async def test_the_credits_pause_is_kept_by_the_replica_that_met_it(unreachable) -> None:
    clock = Clock()
    pause = RedisPause(unreachable, clock=clock)
    assert await pause.until() is None
    end = clock() + timedelta(minutes=5)
    await pause.pause(end)
    assert await pause.until() == end
