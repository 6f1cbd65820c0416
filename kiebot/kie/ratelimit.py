"""Client-side rate limits for KIE (createTask ~20 per 10 s, recordInfo 10 per s per key).

KIE rejects excess calls with 429 instead of queueing them, so waiting here is cheaper than retrying.
`RateLimiter` is the whole interface the client uses. `SlidingWindowLimiter` counts in this process;
`RedisSlidingWindowLimiter` counts in Redis (`REDIS_URL`), so several replicas together stay within one account's
limits; while Redis cannot be reached it counts in the process (a 429 is then possible, and retried).
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class RateLimiter(Protocol):
    async def acquire(self, key: str) -> None:
        """Return once one call under `key` may be made."""


class SlidingWindowLimiter:
    """In-process sliding-window limiter: at most `calls` per `period` seconds for each key.

    Keys without a limit pass at once. `clock` and `sleep` are injectable so tests can count admissions
    without measuring wall-clock time.
    """

    def __init__(
        self,
        limits: dict[str, tuple[int, float]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._sleep = sleep
        self._admitted: dict[str, deque[float]] = {key: deque() for key in limits}

    def try_acquire(self, key: str) -> float:
        """Admit one call now and return 0, or return how many seconds to wait before asking again."""
        limit = self._limits.get(key)
        if limit is None:
            return 0.0
        calls, period = limit
        now = self._clock()
        window = self._admitted[key]
        while window and window[0] <= now - period:
            window.popleft()
        if len(window) < calls:
            window.append(now)
            return 0.0
        return window[0] + period - now

    async def acquire(self, key: str) -> None:
        # try_acquire has no await inside, so check-and-record is atomic on the event loop.
        while (wait := self.try_acquire(key)) > 0:
            await self._sleep(wait)


# The check and the admission in one step, on Redis's own clock (replicas' clocks may differ): a sorted set of
# admission times (ms) per key. KEYS[1]: the window; ARGV: calls, period (ms), a unique member, now (ms) or "".
_SLIDING_WINDOW = """
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local calls, period = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) < calls then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(period))
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.ceil(tonumber(oldest[2]) + period - now))
"""


class RedisSlidingWindowLimiter:
    """The same sliding window, kept in Redis and shared by every process using `prefix`.

    Times come from the Redis server unless `clock` (seconds) is given (tests drive it by hand).
    """

    def __init__(
        self,
        redis: Any,
        limits: dict[str, tuple[int, float]],
        *,
        prefix: str = "kiebot:kie:rate:",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limits = dict(limits)
        self._prefix = prefix
        self._clock = clock
        self._sleep = sleep
        self._script = redis.register_script(_SLIDING_WINDOW)
        self._local = SlidingWindowLimiter(limits, clock=clock or time.monotonic)  # while Redis is unreachable
        self._redis_down = False

    async def try_acquire(self, key: str) -> float:
        """Admit one call now and return 0, or return how many seconds to wait before asking again."""
        limit = self._limits.get(key)
        if limit is None:
            return 0.0
        calls, period = limit
        now = "" if self._clock is None else int(self._clock() * 1000)
        wait_ms = await self._script(keys=[self._prefix + key],
                                     args=[calls, int(period * 1000), uuid.uuid4().hex, now])
        return int(wait_ms) / 1000

    async def acquire(self, key: str) -> None:
        while (wait := await self._try_shared(key)) > 0:
            await self._sleep(wait)

    async def _try_shared(self, key: str) -> float:
        """The shared window; this process's own while Redis cannot be reached (said once per outage)."""
        try:
            wait = await self.try_acquire(key)
        except RedisError as exc:
            if not self._redis_down:
                log.warning("KIE rate limits: Redis unreachable (%s); counting in this process", type(exc).__name__)
            self._redis_down = True
            return self._local.try_acquire(key)
        if self._redis_down:
            log.warning("KIE rate limits: Redis is back; counting there again")
            self._redis_down = False
        return wait
