"""Client-side rate limits for KIE (createTask ~20 per 10 s, recordInfo 10 per s per key).

KIE rejects excess calls with 429 instead of queueing them, so waiting here is cheaper than retrying.
`RateLimiter` is the whole interface the client uses. `SlidingWindowLimiter` counts in this process;
`RedisSlidingWindowLimiter` counts in Redis (`REDIS_URL`), so several replicas together stay within one account's
limits; while Redis cannot be reached it counts in the process (a 429 is then possible, and retried).

When a call counts. KIE counts a call when it *arrives*; we only know when we *admit* it and when its *answer comes
back*. Between admission and arrival lie the event loop's queue, the connection pool and the network: under load
tens to hundreds of ms, so a window counted from admission lets calls of one window land in KIE's next one, next to
a full burst (429s). An answer cannot come back before KIE counted its call, so a call here holds its place in the
window from admission until `period` after its answer (or after we gave up on it): KIE's window of the same length
then never holds more calls than ours did. This costs one round trip per call, not a fixed margin, and a call still
in flight counts as if it never ended: at most `calls` are ever under way or counted, so no place is freed early.

The order of waiting calls. Calls waiting for one key take their turn by their place in line (`in_line`, lower first;
the engine gives each createTask the fair order of its claim), then by arrival. Only the first in line asks the window,
so a call that arrives while others wait never slips ahead of them. (Across replicas each keeps its own line.)
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Place = tuple[int, ...]
_place: ContextVar[Place] = ContextVar("kie_place_in_line", default=())

from kiebot.redis_clock import lua_now


@contextmanager
def in_line(place: Place) -> Iterator[None]:
    """Calls made inside wait for their turn at `place` (compared as tuples, lower first; calls outside any
    `in_line` have the place `()`, so they go first)."""
    token = _place.set(place)
    try:
        yield
    finally:
        _place.reset(token)


class RateLimiter(Protocol):
    def slot(self, key: str) -> AbstractAsyncContextManager[None]:
        """Wait for a place in `key`'s window and hold it for the one call made inside (see the module's docstring)."""


class _Window:
    """One key's window in this process: calls under way (counted) and the times their answers came back."""

    def __init__(self, calls: int, period: float) -> None:
        self.calls, self.period = calls, period
        self.under_way = 0
        self.ended: deque[float] = deque()  # answer times, in the order they came (so ascending)

    def take(self, now: float) -> float:
        """Take a place now (returns 0), or say how long until one may be free."""
        while self.ended and self.ended[0] <= now - self.period:
            self.ended.popleft()
        if self.under_way + len(self.ended) < self.calls:
            self.under_way += 1
            return 0.0
        # The oldest ended call frees the first place; a call still under way frees none sooner than `period`.
        return self.ended[0] + self.period - now if self.ended else self.period

    def end(self, now: float) -> None:
        self.under_way -= 1
        self.ended.append(now)


class _Line:
    """The calls waiting for one key, in order of (place, arrival). Only the first asks the window."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._sleep = sleep
        self._waiting: list[tuple[Place, int, asyncio.Event]] = []  # a heap
        self._arrivals = itertools.count()

    async def wait_turn(self, take: Callable[[], Awaitable[float]]) -> None:
        """Return once `take` (asked only by the first in line) admitted this call."""
        me = (_place.get(), next(self._arrivals), asyncio.Event())
        heapq.heappush(self._waiting, me)
        try:
            while True:
                if self._waiting[0] is not me:
                    me[2].clear()
                    await me[2].wait()  # set when the calls before it have gone
                elif (wait := await take()) > 0:
                    await self._sleep(wait)
                else:
                    return
        finally:
            self._waiting.remove(me)
            heapq.heapify(self._waiting)
            if self._waiting:
                self._waiting[0][2].set()


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
        self._clock = clock
        self._windows = {key: _Window(calls, period) for key, (calls, period) in limits.items()}
        self._lines = {key: _Line(sleep) for key in limits}

    def try_acquire(self, key: str) -> float:
        """Count one call that is arriving now and return 0, or return how many seconds to wait before asking
        again. For a server counting calls as they arrive (the KIE emulator); a client uses `slot`."""
        wait = self.take(key)
        if wait == 0:
            self.end(key)
        return wait

    def take(self, key: str) -> float:
        """Admit a call now (returns 0; it counts until `end`), or say how long until a place may be free."""
        window = self._windows.get(key)
        return window.take(self._clock()) if window is not None else 0.0

    def end(self, key: str) -> None:
        """The call's answer came back (or it was given up): it counts for `period` from now."""
        window = self._windows.get(key)
        if window is not None:
            window.end(self._clock())

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        if key not in self._windows:
            yield
            return

        async def take() -> float:
            return self.take(key)

        await self._lines[key].wait_turn(take)
        try:
            yield
        finally:
            self.end(key)


# Admission, on Redis's own clock (replicas' clocks may differ), as `_Window.take`: a sorted set per key of
# answer times (ms); a call under way is stored at now + `hold` (longer than any call lasts, so it stays counted,
# and a replica that died mid-call frees its place eventually). KEYS[1]: the window;
# ARGV: calls, period (ms), the call's unique member, now (ms) or "", hold (ms).
_TAKE = lua_now(4) + """
local calls, period, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) < calls then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(hold + period))
  return 0
end
local ended = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1, 'WITHSCORES')
if ended[2] then
  return math.max(1, math.ceil(tonumber(ended[2]) + period - now))
end
return math.ceil(period)
"""
# The call's answer came back: it counts from now. ARGV: the member, now (ms) or "". The key's expiry (hold + period
# after the last admission) is still at least `period` away, since no call lasts longer than `hold`.
_END = lua_now(2) + """
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 0
"""


class RedisSlidingWindowLimiter:
    """The same sliding window, kept in Redis and shared by every process using `prefix`.

    Times come from the Redis server unless `clock` (seconds) is given (tests drive it by hand). `hold`: longer than
    any call may last (the client's timeout is 30 s).
    """

    def __init__(
        self,
        redis: Any,
        limits: dict[str, tuple[int, float]],
        *,
        prefix: str = "kiebot:kie:rate:",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        hold: float = 120.0,
    ) -> None:
        self._limits = dict(limits)
        self._prefix = prefix
        self._clock = clock
        self._hold_ms = int(hold * 1000)
        self._take = redis.register_script(_TAKE)
        self._end = redis.register_script(_END)
        self._lines = {key: _Line(sleep) for key in limits}
        self._local = SlidingWindowLimiter(limits, clock=clock or time.monotonic)  # while Redis is unreachable
        self._redis_down = False

    def _now(self) -> int | str:
        return "" if self._clock is None else round(self._clock() * 1000)

    async def try_acquire(self, key: str, member: str) -> float:
        """Admit the call `member` now and return 0 (it counts until `release`), or return how many seconds to
        wait before asking again."""
        limit = self._limits.get(key)
        if limit is None:
            return 0.0
        calls, period = limit
        wait_ms = await self._take(keys=[self._prefix + key],
                                   args=[calls, int(period * 1000), member, self._now(), self._hold_ms])
        return int(wait_ms) / 1000

    async def release(self, key: str, member: str) -> None:
        """The call's answer came back (or it was given up): it counts for `period` from now."""
        await self._end(keys=[self._prefix + key], args=[member, self._now()])

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        if key not in self._limits:
            yield
            return
        member, local = uuid.uuid4().hex, False

        async def take() -> float:
            nonlocal local
            try:
                wait = await self.try_acquire(key, member)
            except RedisError as exc:
                self._went_down(exc)
                local = True
                return self._local.take(key)
            self._came_back()
            return wait

        await self._lines[key].wait_turn(take)
        try:
            yield
        finally:
            await self._end_call(key, member, local)

    async def _end_call(self, key: str, member: str, local: bool) -> None:
        if local:
            self._local.end(key)
            return
        try:
            await self.release(key, member)
        except RedisError as exc:  # the call then counts until `hold` has passed: late, never early
            self._went_down(exc)

    def _went_down(self, exc: RedisError) -> None:
        """Said once per outage; meanwhile this process's own windows count."""
        if not self._redis_down:
            log.warning("KIE rate limits: Redis unreachable (%s); counting in this process", type(exc).__name__)
        self._redis_down = True

    def _came_back(self) -> None:
        if self._redis_down:
            log.warning("KIE rate limits: Redis is back; counting there again")
            self._redis_down = False
