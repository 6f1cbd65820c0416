"""The KIE account's credits: read through the cache (a short TTL, refreshed ahead of expiry, in Redis when
REDIS_URL is set), and checked against KIE_CREDITS_ALERT on every reading that reached KIE.

Low credits are one incident from the first low reading until a reading at or above the threshold: the admins
are alerted once for it, whichever replica reads (the mark lives in `operator_alerts`). A refusal by KIE (401,
402, 433...) is alerted once per code and hour, the same incident as the engine's.
"""
from __future__ import annotations

import logging
from decimal import Decimal

from kiebot.cache import Cache
from kiebot.engine.alerts import Alerts
from kiebot.engine.ports import Kie
from kiebot.kie import errors as kie_errors

log = logging.getLogger(__name__)
CACHE_KEY = "balance"
LOW_CREDITS = "kie-credits:low"
TTL_SECONDS = 60.0  # /stats may show the balance up to a minute late
CHECK_SECONDS = 300.0  # the periodic check (the cache has expired by then, so it reaches KIE)


class KieCredits:
    def __init__(self, kie: Kie, cache: Cache, alerts: Alerts, threshold: Decimal) -> None:
        self.kie = kie
        self.cache = cache
        self.alerts = alerts
        self.threshold = threshold

    async def current(self) -> Decimal | None:
        """The account's credits as last read (at most TTL_SECONDS old); None when KIE cannot tell now."""
        try:
            return Decimal(await self.cache.get(CACHE_KEY, self._read))
        except kie_errors.KieError:
            return None

    async def check(self) -> None:
        """The periodic check (App runs it every CHECK_SECONDS): a reading, alerted if low."""
        await self.current()

    async def _read(self) -> str:
        try:
            credits = await self.kie.credits()
        except kie_errors.KieError as exc:
            log.warning("could not read the KIE credits: %s", exc)
            if exc.operator_alert:
                await self.alerts.kie_code(exc.code, "alert-kie-account", code=exc.code)
            raise
        await self._judge(credits)
        return str(credits)  # the cache holds JSON

    async def _judge(self, credits: Decimal) -> None:
        if credits < self.threshold:
            await self.alerts.once(LOW_CREDITS, "alert-kie-credits-low", window=None, credits=credits,
                                   threshold=self.threshold)
        else:
            await self.alerts.resolve(LOW_CREDITS)
