"""What `GET /healthz` reports: the database, Redis (when configured) and KIE, each "ok" or the reason it failed.

Each check has a deadline, so a server that hangs gives a failure instead of a hung probe. KIE is asked with one cheap
authenticated call (the account's credits), its outcome kept `kie_ttl` seconds and shared by probes that arrive
together: a load balancer probing every second does not become KIE traffic. Reasons name the failing part and the
error's type only, never a message that could carry a URL, a key or a password.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from kiebot.kie.client import KieClient
from kiebot.kie.errors import NO_ANSWER, KieAuthError, KieError
from kiebot.store.db import Database

OK = "ok"


class Health:
    def __init__(self, db: Database, redis: Any | None, kie: KieClient, *, timeout: float = 3.0,
                 kie_ttl: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.db, self.redis, self.kie = db, redis, kie
        self.timeout = timeout
        self.kie_ttl = kie_ttl
        self._clock = clock
        self._kie_result: tuple[float, str] | None = None  # (when, outcome)
        self._kie_lock = asyncio.Lock()

    async def report(self) -> dict[str, str]:
        """Each part's outcome: "ok" or why it failed."""
        parts: dict[str, Callable[[], Awaitable[str]]] = {"database": self._database, "kie": self._kie_cached}
        if self.redis is not None:
            parts["redis"] = self._redis
        outcomes = await asyncio.gather(*(self._within_deadline(name, check) for name, check in parts.items()))
        return dict(zip(parts, outcomes))

    async def _within_deadline(self, name: str, check: Callable[[], Awaitable[str]]) -> str:
        try:  # a backstop: the KIE check keeps its own deadline, so its outcome is cached even when slow
            return await asyncio.wait_for(check(), self.timeout + 1)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure is the part's reason, never the probe's crash
            return f"unreachable ({type(exc).__name__})"

    async def _database(self) -> str:
        async with self.db.read() as session:
            await session.execute(text("SELECT 1"))
        return OK

    async def _redis(self) -> str:
        await self.redis.ping()  # type: ignore[union-attr]
        return OK

    async def _kie_cached(self) -> str:
        async with self._kie_lock:  # probes arriving together share one KIE call
            if self._kie_result is not None and self._clock() - self._kie_result[0] < self.kie_ttl:
                return self._kie_result[1]
            outcome = await self._kie()
            self._kie_result = (self._clock(), outcome)
            return outcome

    async def _kie(self) -> str:
        try:
            await asyncio.wait_for(self.kie.credits(), self.timeout)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except KieAuthError:
            return "KIE refused the API key (401)"
        except KieError as exc:
            return "KIE cannot be reached" if exc.code == NO_ANSWER else f"KIE answered code {exc.code}"
        return OK
