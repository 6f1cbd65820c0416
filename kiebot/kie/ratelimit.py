"""Client-side rate limits for KIE (createTask ~20 per 10 s, recordInfo 10 per s per key).

KIE rejects excess calls with 429 instead of queueing them, so waiting here is cheaper than retrying.
`RateLimiter` is the whole interface the client uses: a shared (e.g. Redis) limiter for several
replicas only has to implement `acquire`.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol


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
