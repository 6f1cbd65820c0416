"""The KIE account's credits: read through the cache, low credits alerted once per incident, KIE's refusals too."""
from __future__ import annotations

import os
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from kiebot.cache import Cache, MemoryStore, RedisStore
from kiebot.engine.alerts import Alerts
from kiebot.engine.credits import TTL_SECONDS, KieCredits
from kiebot.kie import errors as kie_errors
from tests.engine.kit import Clock, RecordingNotifier
from tests.stats_data import Balances


class Seconds:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def watch(db_sessionmaker, kie: Balances, store=None) -> tuple[KieCredits, RecordingNotifier, Seconds]:  # type: ignore[no-untyped-def]
    notifier, seconds = RecordingNotifier(), Seconds()
    alerts = Alerts(db_sessionmaker, notifier, Clock())
    cache = Cache(store or MemoryStore(clock=seconds), TTL_SECONDS, clock=seconds)
    return KieCredits(kie, cache, alerts, threshold=Decimal("100")), notifier, seconds


async def test_two_low_readings_alert_once_and_a_new_drop_alerts_again(db_sessionmaker) -> None:
    kie = Balances(Decimal("80"), Decimal("40.5"), Decimal("500"), Decimal("90"))
    credits, notifier, seconds = watch(db_sessionmaker, kie)
    assert await credits.current() == Decimal("80")
    assert await credits.current() == Decimal("80")  # from the cache: KIE is not asked again
    assert kie.calls == 1
    seconds.now += TTL_SECONDS + 1
    await credits.check()  # the periodic check: a second low reading
    assert kie.calls == 2 and await credits.current() == Decimal("40.5")
    assert notifier.alerts == [
        "⚠️ The KIE account has 80 credits left, below the alert level of 100. Top it up before generations stop."]
    seconds.now += TTL_SECONDS + 1
    await credits.check()  # topped up: the incident is over
    seconds.now += TTL_SECONDS + 1
    await credits.check()  # low again: a new incident
    assert kie.calls == 4 and len(notifier.alerts) == 2 and "has 90 credits left" in notifier.alerts[1]


async def test_a_refused_key_is_alerted_once_and_shown_as_unknown(db_sessionmaker) -> None:
    kie = Balances(kie_errors.KieAuthError(401, "unauthorized"), kie_errors.KieAuthError(401, "unauthorized"))
    credits, notifier, seconds = watch(db_sessionmaker, kie)
    assert await credits.current() is None
    seconds.now += 5
    assert await credits.current() is None  # an error is not cached: KIE is asked again, the alert is not repeated
    assert kie.calls == 2
    assert notifier.alerts == [
        "⚠️ KIE refuses to show the account's credits (code 401): check the KIE API key and the account."]


@pytest.mark.redis
async def test_the_reading_is_shared_through_redis(db_sessionmaker) -> None:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: Redis tests skipped")
    redis = Redis.from_url(url)
    prefix = f"kiebot-test-credits:{os.getpid()}:{id(redis)}:"
    try:
        kie_a, kie_b = Balances(Decimal("5000")), Balances()
        replica_a, _, _ = watch(db_sessionmaker, kie_a, RedisStore(redis, prefix=prefix))
        replica_b, _, _ = watch(db_sessionmaker, kie_b, RedisStore(redis, prefix=prefix))
        assert await replica_a.current() == Decimal("5000")
        assert await replica_b.current() == Decimal("5000")  # the other replica reads the cached value
        assert (kie_a.calls, kie_b.calls) == (1, 0)
    finally:
        await redis.delete(*[key async for key in redis.scan_iter(f"{prefix}*")])
        await redis.aclose()
