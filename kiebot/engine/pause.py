"""The pause after KIE says the account is out of credits (402): until it ends, new submissions wait instead of
failing one by one. `MemoryPause` is this process's; `RedisPause` (`REDIS_URL`) is seen by every replica, so the
first 402 any of them meets stops them all (and, while Redis cannot be reached, this replica still knows its own)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from redis.exceptions import RedisError

from kiebot.clock import utcnow

log = logging.getLogger(__name__)


class CreditsPause(Protocol):
    async def until(self) -> datetime | None:
        """When the pause ends (it may already have ended); None: no pause was set."""

    async def pause(self, until: datetime) -> None:
        """Submissions wait until `until` (a later pause already set stays)."""


class MemoryPause:
    def __init__(self) -> None:
        self._until: datetime | None = None

    async def until(self) -> datetime | None:
        return self._until

    async def pause(self, until: datetime) -> None:
        self._until = until if self._until is None else max(self._until, until)


# Keep the later of the pause set and the new one; KEYS[1]: the key, ARGV: the new end (epoch ms), its TTL (ms).
_PAUSE = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


class RedisPause:
    """The end of the pause as epoch milliseconds in one key that expires with it."""

    def __init__(self, redis: Any, key: str = "kiebot:kie:credits-paused-until",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.redis = redis
        self.key = key
        self.clock = clock
        self._script = redis.register_script(_PAUSE)
        self._local = MemoryPause()  # this replica's own pauses, for when Redis cannot be reached

    async def until(self) -> datetime | None:
        try:
            raw = await self.redis.get(self.key)
        except RedisError as exc:
            log.warning("credits pause: Redis unreachable (%s); using this replica's own", type(exc).__name__)
            return await self._local.until()
        return None if raw is None else datetime.fromtimestamp(int(raw) / 1000, utcnow().tzinfo)

    async def pause(self, until: datetime) -> None:
        await self._local.pause(until)
        ttl_ms = int((until - self.clock()).total_seconds() * 1000)
        if ttl_ms <= 0:
            return
        try:
            await self._script(keys=[self.key], args=[int(until.timestamp() * 1000), ttl_ms])
        except RedisError as exc:
            log.warning("credits pause: Redis unreachable (%s); only this replica pauses", type(exc).__name__)
