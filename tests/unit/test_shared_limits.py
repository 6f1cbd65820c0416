"""Limits shared by replicas through Redis: the KIE rate limiter, the Telegram paces and the credits pause.

Two instances over one Redis stand for two replicas. Time is a fake clock handed to both (the scripts take it
instead of Redis's own), so no test depends on how fast this machine is.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from kiebot.bot.pace import RedisPaces
from kiebot.engine.pause import RedisPause
from kiebot.kie import errors as kie_errors
from kiebot.kie.ratelimit import RedisSlidingWindowLimiter
from kiebot.store.models import JobState
from tests.engine.kit import USER, Clock, RecordingNotifier, ScriptedKie, make_engine, new_job, state_of
from tests.store_fixtures import db_sessionmaker, store_db  # noqa: F401

pytestmark = pytest.mark.redis
REDIS_ENV = "TEST_REDIS_URL"


class Seconds:
    """A fake clock in seconds, shared by the two "replicas"."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    """Keys of this test only, so parallel runs never share a limit."""
    return f"test:{uuid.uuid4().hex}:"


# --------------------------------------------------------------------------- the KIE rate limiter

async def test_two_limiters_sharing_redis_never_admit_more_than_the_limit_together(redis, prefix) -> None:
    clock = Seconds()
    limits = {"createTask": (5, 1.0)}
    replicas = [RedisSlidingWindowLimiter(redis, limits, prefix=prefix, clock=clock) for _ in range(2)]
    admitted: list[tuple[float, int]] = []  # (time, replica)
    start = clock.now
    for step in range(30):  # 3 s in steps of 0.1 s; at each step both replicas try twice
        clock.now = start + step / 10
        for attempt, replica in enumerate((0, 1, 0, 1)):
            call = f"call-{step}-{attempt}"
            if await replicas[replica].try_acquire("createTask", call) == 0:
                await replicas[replica].release("createTask", call)  # answered at once
                admitted.append((clock.now, replica))
    times = [t for t, _ in admitted]
    assert max(sum(1 for u in times if t <= u < t + 1.0) for t in times) == 5  # never more in any 1 s window
    assert len(admitted) == 15  # and the window is used in full: 5 at 0 s, 1 s and 2 s
    assert {replica for _, replica in admitted} == {0, 1}


async def test_a_refused_call_is_told_how_long_to_wait_on_redis_time(redis, prefix) -> None:
    limits = {"createTask": (5, 60.0)}
    replicas = [RedisSlidingWindowLimiter(redis, limits, prefix=prefix) for _ in range(2)]
    waits = []
    for i in range(12):
        waits.append(await replicas[i % 2].try_acquire("createTask", f"call-{i}"))
        await replicas[i % 2].release("createTask", f"call-{i}")
    assert waits[:5] == [0.0] * 5
    assert all(0 < wait <= 60.0 for wait in waits[5:])
    assert await replicas[0].try_acquire("other", "call-x") == 0.0  # a call without a limit passes


async def test_acquire_sleeps_until_the_shared_window_has_room(redis, prefix) -> None:
    clock = Seconds()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    limits = {"recordInfo": (2, 1.0)}
    first = RedisSlidingWindowLimiter(redis, limits, prefix=prefix, clock=clock)
    second = RedisSlidingWindowLimiter(redis, limits, prefix=prefix, clock=clock, sleep=sleep)
    for _ in range(2):
        async with first.slot("recordInfo"):
            pass
    async with second.slot("recordInfo"):  # the window is full with the first replica's calls
        pass
    assert slept == [1.0]


async def test_a_call_counts_in_the_shared_window_until_a_period_after_its_answer(redis, prefix) -> None:
    clock = Seconds()
    limits = {"recordInfo": (2, 1.0)}
    first = RedisSlidingWindowLimiter(redis, limits, prefix=prefix, clock=clock)
    second = RedisSlidingWindowLimiter(redis, limits, prefix=prefix, clock=clock)
    assert [await first.try_acquire("recordInfo", call) for call in ("a", "b")] == [0.0, 0.0]
    clock.now += 5.0  # both still under way: they keep their places however long they take
    assert await second.try_acquire("recordInfo", "c") == 1.0  # and free none sooner than a period after an answer
    await first.release("recordInfo", "a")
    clock.now += 0.3
    assert await second.try_acquire("recordInfo", "c") == 0.7  # a's answer came 0.3 s ago
    clock.now += 0.7
    assert await second.try_acquire("recordInfo", "c") == 0.0
    assert await second.try_acquire("recordInfo", "d") == 1.0  # b and c under way


async def test_a_call_of_a_replica_that_died_under_way_frees_its_place_after_the_hold(redis, prefix) -> None:
    clock = Seconds()
    limits = {"createTask": (1, 10.0)}
    dead = RedisSlidingWindowLimiter(redis, limits, prefix=prefix, clock=clock, hold=60.0)
    alive = RedisSlidingWindowLimiter(redis, limits, prefix=prefix, clock=clock, hold=60.0)
    assert await dead.try_acquire("createTask", "lost") == 0.0  # never released
    clock.now += 69.0
    assert await alive.try_acquire("createTask", "next") > 0
    clock.now += 1.0
    assert await alive.try_acquire("createTask", "next") == 0.0


# --------------------------------------------------------------------------- the Telegram paces

def paces(redis: Any, prefix: str, clock: Seconds) -> RedisPaces:
    return RedisPaces(redis, global_rate=10, chat_rate=1, chat_burst=3, prefix=prefix, clock=clock)


async def test_replicas_take_turns_in_one_chat_from_one_pace(redis, prefix) -> None:
    clock = Seconds()
    a, b = paces(redis, prefix, clock), paces(redis, prefix, clock)
    assert [await a.reserve(7), await b.reserve(7), await a.reserve(7)] == [0.0, 0.0, 0.0]  # the burst of 3
    assert await b.reserve(7) == 1.0  # 1 per second after it, whichever replica asks
    assert await a.reserve(7) == 2.0
    assert await b.reserve(8) == 0.0  # another chat has its own pace


async def test_the_global_pace_is_shared(redis, prefix) -> None:
    clock = Seconds()
    a, b = paces(redis, prefix, clock), paces(redis, prefix, clock)
    delays = [await (a if chat % 2 else b).reserve(chat) for chat in range(11)]  # 11 chats at one instant
    assert delays == [0.0] * 10 + [0.1]


async def test_background_messages_yield_to_answers_reserved_by_another_replica(redis, prefix) -> None:
    clock = Seconds()
    answers, engine = paces(redis, prefix, clock), paces(redis, prefix, clock)
    for _ in range(4):  # the user's answers on one replica: the burst, then a turn 1 s ahead
        await answers.reserve(7)
    assert await engine.take_if_free(7) == 2.0  # the engine's message on the other replica waits behind them
    assert await engine.take_if_free(7) == 2.0  # and asking took no turn
    clock.now += 2.0
    assert await engine.take_if_free(7) == 0.0  # free now: taken
    assert await answers.reserve(7) == 1.0  # so the next answer comes after it


async def test_a_message_counts_in_its_chat_from_its_answer_on_every_replica(redis, prefix) -> None:
    clock = Seconds()
    a, b = paces(redis, prefix, clock), paces(redis, prefix, clock)
    assert await a.reserve(7) == 0.0
    clock.now += 0.5
    await a.answered(7)  # Telegram may have counted it as late as now
    assert [await b.reserve(7), await b.reserve(7)] == [0.0, 0.0]  # the rest of the burst of 3
    assert await b.reserve(7) == 1.0  # Telegram's next place: a second after the first arrived, not at once


async def test_a_hold_off_from_telegram_is_kept_by_every_replica(redis, prefix) -> None:
    clock = Seconds()
    a, b = paces(redis, prefix, clock), paces(redis, prefix, clock)
    await a.hold_off(7, 5.0)  # a 429 with retry_after 5 on replica a
    assert await b.reserve(7) == 5.0 - 2.0  # the burst tolerance of 3 turns (2 s) still applies after it
    assert await b.reserve(9) == 0.0


# --------------------------------------------------------------------------- the credits pause

async def test_a_credits_pause_set_by_one_replica_is_seen_by_the_other(redis, prefix) -> None:
    clock = Clock()
    a, b = RedisPause(redis, key=prefix + "pause", clock=clock), RedisPause(redis, key=prefix + "pause", clock=clock)
    assert await b.until() is None
    end = clock() + timedelta(minutes=5)
    await a.pause(end)
    assert await b.until() == end
    await b.pause(clock() + timedelta(minutes=1))  # a shorter pause does not cut the one set
    assert await a.until() == end


async def test_an_engine_waits_out_the_pause_another_replica_met(redis, prefix, db_sessionmaker) -> None:  # noqa: F811
    clock, notifier = Clock(), RecordingNotifier()
    first_kie, second_kie = ScriptedKie(), ScriptedKie()
    first = make_engine(db_sessionmaker, first_kie, notifier, clock)
    second = make_engine(db_sessionmaker, second_kie, notifier, clock)
    first.pause = RedisPause(redis, key=prefix + "pause", clock=clock)
    second.pause = RedisPause(redis, key=prefix + "pause", clock=clock)
    failed = await new_job(db_sessionmaker, clock, key="c1")
    first_kie.create_errors = [kie_errors.KieInsufficientCredits(402, "no credits")]
    await first.tick()
    assert (await state_of(db_sessionmaker, failed)).state == JobState.FAILED
    waiting = await new_job(db_sessionmaker, clock, user=USER + 1, key="c2")
    await second.tick()
    job = await state_of(db_sessionmaker, waiting)
    assert job.state == JobState.WAITING and second_kie.create_calls == 0
    assert job.next_check_at == await second.pause.until()
