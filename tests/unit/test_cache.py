"""The cache: TTL, refresh-ahead, invalidation, cleanup and counters, in memory and in Redis."""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from kiebot.cache import Cache, MemoryStore, RedisStore

REDIS_ENV = "TEST_REDIS_URL"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Loader:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def __call__(self) -> dict[str, int]:
        self.calls += 1
        if self.fail:
            raise ConnectionError("source down")
        return {"version": self.calls}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Cache, Clock]]:
    clock = Clock()
    if request.param == "memory":
        yield Cache(MemoryStore(clock), ttl=100, clock=clock), clock
        return
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:  # Redis expires entries on its own clock: a long TTL, and the fake clock drives refresh-ahead
        yield Cache(RedisStore(redis, prefix=f"test:{uuid.uuid4().hex}:"), ttl=100, clock=clock), clock
    finally:
        await redis.aclose()


async def test_a_miss_loads_and_a_hit_does_not(cache) -> None:
    cache, _ = cache
    load = Loader()
    assert await cache.get("k", load) == {"version": 1}
    assert await cache.get("k", load) == {"version": 1}
    assert load.calls == 1
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


async def test_a_hot_key_is_refreshed_in_the_background_before_it_expires(cache) -> None:
    cache, clock = cache
    load = Loader()
    await cache.get("k", load)
    clock.now += 85  # past 80 % of the TTL
    assert await cache.get("k", load) == {"version": 1}  # served at once, stale-but-valid
    assert await cache.get("k", load) == {"version": 1}  # one refresh at a time
    await cache.settle()
    assert load.calls == 2 and cache.stats.refreshes == 1
    assert await cache.get("k", load) == {"version": 2}


async def test_a_failed_refresh_keeps_the_value(cache) -> None:
    cache, clock = cache
    load = Loader()
    await cache.get("k", load)
    clock.now += 90
    load.fail = True
    assert await cache.get("k", load) == {"version": 1}
    await cache.settle()
    assert cache.stats.refreshes == 0
    assert await cache.get("k", load) == {"version": 1}


async def test_invalidation_makes_the_next_read_load(cache) -> None:
    cache, _ = cache
    load = Loader()
    await cache.get("k", load)
    await cache.invalidate("k")
    assert await cache.get("k", load) == {"version": 2}


async def test_an_entry_expires_after_its_ttl() -> None:
    clock = Clock()
    cache, load = Cache(MemoryStore(clock), ttl=10, clock=clock), Loader()
    await cache.get("k", load)
    clock.now += 10
    assert await cache.get("k", load) == {"version": 2}
    assert cache.stats.misses == 2


def test_cleanup_drops_expired_entries_and_bounds_the_size() -> None:
    import asyncio

    clock = Clock()
    store = MemoryStore(clock, max_entries=4)

    async def fill() -> None:
        for n in range(3):
            await store.put(f"old{n}", n, clock.now, ttl=1)
        clock.now += 5
        for n in range(6):
            await store.put(f"new{n}", n, clock.now + n, ttl=100)

    asyncio.run(fill())
    assert len(store._entries) <= 4
    assert not any(key.startswith("old") for key in store._entries)
