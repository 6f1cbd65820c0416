"""One cache for everything the bot reads often and can afford to read a little late.

Entries live for a TTL; once 80 % of it has passed, a read still returns the cached value at once and starts one
background refresh, so a key in use never expires under its readers. Writers invalidate explicitly. Values are
JSON (so the Redis store can hold them). In memory by default; in Redis (`REDIS_URL`) when several replicas share
it. Hits, misses and refreshes are counted.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)
REFRESH_AT = 0.8  # of the TTL


class Store(Protocol):
    async def get(self, key: str) -> tuple[Any, float] | None:
        """(value, stored_at) of a live entry."""

    async def put(self, key: str, value: Any, stored_at: float, ttl: float) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryStore:
    def __init__(self, clock: Callable[[], float] = time.time, max_entries: int = 100_000) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Any, float, float]] = {}  # key → (value, stored_at, expires_at)

    async def get(self, key: str) -> tuple[Any, float] | None:
        entry = self._entries.get(key)
        if entry is None or entry[2] <= self.clock():
            return None
        return entry[0], entry[1]

    async def put(self, key: str, value: Any, stored_at: float, ttl: float) -> None:
        if len(self._entries) >= self.max_entries:
            self.cleanup()
        self._entries[key] = (value, stored_at, stored_at + ttl)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def cleanup(self) -> None:
        """Drop expired entries (and, if that is not enough, the oldest half)."""
        now = self.clock()
        self._entries = {k: e for k, e in self._entries.items() if e[2] > now}
        if len(self._entries) >= self.max_entries:
            keep = sorted(self._entries.items(), key=lambda item: item[1][1])[len(self._entries) // 2:]
            self._entries = dict(keep)


class RedisStore:
    """Entries as JSON strings with Redis's own expiry; every replica sees the same ones."""

    def __init__(self, redis: Any, prefix: str = "kiebot:cache:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def get(self, key: str) -> tuple[Any, float] | None:
        raw = await self.redis.get(self.prefix + key)
        if raw is None:
            return None
        entry = json.loads(raw)
        return entry["v"], entry["t"]

    async def put(self, key: str, value: Any, stored_at: float, ttl: float) -> None:
        payload = json.dumps({"v": value, "t": stored_at})
        await self.redis.set(self.prefix + key, payload, px=max(1, int(ttl * 1000)))

    async def delete(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    refreshes: int = 0


class Cache:
    """`await cache.get(key, load)`: the cached value, or `load()`'s (stored for `ttl` seconds)."""

    def __init__(self, store: Store, ttl: float, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self.stats = CacheStats()
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        entry = await self.store.get(key)
        if entry is None:
            self.stats.misses += 1
            value = await load()
            await self.store.put(key, value, self.clock(), self.ttl)
            return value
        self.stats.hits += 1
        value, stored_at = entry
        if self.clock() - stored_at >= REFRESH_AT * self.ttl and key not in self._refreshing:
            task = asyncio.create_task(self._refresh(key, load))
            self._refreshing[key] = task
            task.add_done_callback(lambda _: self._refreshing.pop(key, None))
        return value

    async def put(self, key: str, value: Any) -> None:
        await self.store.put(key, value, self.clock(), self.ttl)

    async def invalidate(self, key: str) -> None:
        await self.store.delete(key)

    async def _refresh(self, key: str, load: Callable[[], Awaitable[Any]]) -> None:
        try:
            value = await load()
        except Exception as exc:  # the old value stays until it expires; the next read tries again
            log.warning("cache refresh of %s failed: %s", key, type(exc).__name__)
            return
        self.stats.refreshes += 1
        await self.store.put(key, value, self.clock(), self.ttl)

    async def settle(self) -> None:
        """Wait for background refreshes under way (tests, shutdown)."""
        if self._refreshing:
            await asyncio.gather(*self._refreshing.values(), return_exceptions=True)
