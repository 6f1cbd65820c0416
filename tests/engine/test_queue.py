"""The fair line: every user's first waiting job starts before anyone's second (then the oldest first), up to
MAX_ACTIVE_PER_USER each; position in line; and the engine keeps that order up to KIE's createTask limiter."""
from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from kiebot.kie.ratelimit import SlidingWindowLimiter
from kiebot.store import jobs as job_repo
from kiebot.store import users
from kiebot.store.models import Job, JobState
from tests.engine.kit import Clock, ManualTime, RecordingNotifier, ScriptedKie, make_engine

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
_keys = itertools.count()


async def add_user(session, user_id: int) -> int:  # type: ignore[no-untyped-def]
    await users.get_or_create_user(session, user_id, username=None, first_name=None, welcome_bonus=10_000)
    return user_id


async def add_jobs(session, user_id: int, count: int, state: JobState = JobState.WAITING,  # type: ignore[no-untyped-def]
                   *, prompts: str | None = None, now: datetime = T0) -> list[int]:
    """`prompts`: the jobs are of a real model (google/nano-banana), prompted `<prompts>0`, `<prompts>1`..."""
    ids = []
    for n in range(count):
        job = await job_repo.create_job(session, user_id=user_id, chat_id=user_id, language="en",
                                        model_id="google/nano-banana" if prompts else "m",
                                        values={"prompt": f"{prompts}{n}"} if prompts else {}, files=[],
                                        confirm_key=f"k{next(_keys)}", price=1, credits="1",
                                        now=now)
        job.state = state
        if state != JobState.WAITING:  # at KIE, next looked at later: only the line is claimed here
            job.next_check_at = T0 + timedelta(hours=1)
        ids.append(job.id)
    await session.flush()
    return ids


async def claim(session, limit: int = 50, max_active: int = 3) -> list[Job]:  # type: ignore[no-untyped-def]
    jobs = await job_repo.claim_due(session, "w", T0 + timedelta(seconds=1), 25, limit, max_active)
    await session.commit()
    return jobs


async def test_a_user_at_the_limit_does_not_block_a_user_with_free_slots(db_session) -> None:
    a, b = await add_user(db_session, 1), await add_user(db_session, 2)
    await add_jobs(db_session, a, 3, JobState.RUNNING)
    a_waiting = await add_jobs(db_session, a, 20)  # older than b's
    [b_job] = await add_jobs(db_session, b, 1)
    await db_session.commit()
    # One free place in the batch: it goes to b, not to a's older jobs that could not start anyway.
    got = await job_repo.claim_due(db_session, "w", T0, 25, 1, 3)
    assert [job.id for job in got] == [b_job]
    assert await job_repo.line_position(db_session, a_waiting[0], 3, T0) == 0
    assert await job_repo.line_position(db_session, a_waiting[5], 3, T0) == 5


async def test_a_batch_of_twenty_does_not_starve_the_next_user(db_session) -> None:
    a, b, c = [await add_user(db_session, uid) for uid in (11, 12, 13)]
    a_jobs = await add_jobs(db_session, a, 20)
    [b_job] = await add_jobs(db_session, b, 1)
    [c_job] = await add_jobs(db_session, c, 1)
    await db_session.commit()
    assert await job_repo.line_position(db_session, b_job, 3, T0) == 1  # a's first job starts before it
    assert await job_repo.line_position(db_session, a_jobs[1], 3, T0) == 3  # a's first, then b's and c's first
    got = await claim(db_session)
    assert [job.id for job in got] == [a_jobs[0], b_job, c_job, a_jobs[1], a_jobs[2]]  # firsts first; three for a
    later = T0 + timedelta(seconds=2)
    assert await job_repo.line_position(db_session, a_jobs[3], 3, later) == 0  # a's first three are starting
    assert await job_repo.line_position(db_session, a_jobs[19], 3, later) == 16
    assert await job_repo.line_position(db_session, b_job, 3, later) == 0  # being started
    assert await job_repo.line_position(db_session, got[0].id, 3, later + timedelta(minutes=1)) == 0
    assert await claim(db_session) == []  # everything else waits for a's slots


async def test_the_line_position_counts_other_users_who_can_start_first(db_session) -> None:
    a, b = await add_user(db_session, 21), await add_user(db_session, 22)
    [a_first] = await add_jobs(db_session, a, 1)
    await add_jobs(db_session, b, 1, JobState.RUNNING)
    b_jobs = await add_jobs(db_session, b, 2)
    [a_second] = await add_jobs(db_session, a, 1)
    await db_session.commit()
    # max 1 active: b is at its limit, so b's waiting jobs do not count before a's second one.
    assert await job_repo.line_position(db_session, a_second, 1, T0) == 1
    assert await job_repo.line_position(db_session, b_jobs[1], 1, T0) == 2  # a's older job, b's own older one
    assert await job_repo.line_position(db_session, a_first, 1, T0) == 0


async def test_every_users_first_job_goes_before_anyones_second(db_session) -> None:
    a, b, c = [await add_user(db_session, uid) for uid in (31, 32, 33)]
    a_jobs = await add_jobs(db_session, a, 5)
    await add_jobs(db_session, c, 2, JobState.RUNNING)  # c has two under way already
    [c_job] = await add_jobs(db_session, c, 1)
    [b_job] = await add_jobs(db_session, b, 1)  # the newest of all
    await db_session.commit()
    slots: dict[int, int] = {}
    got = await job_repo.claim_due(db_session, "w", T0 + timedelta(seconds=1), 25, 50, 3, slots=slots)
    # Slot 1: a's first and b's; slot 2: a's second; slot 3: a's third and c's one (its third place), oldest first.
    assert [job.id for job in got] == [a_jobs[0], b_job, a_jobs[1], a_jobs[2], c_job]
    assert slots == {a_jobs[0]: 1, b_job: 1, a_jobs[1]: 2, a_jobs[2]: 3, c_job: 3}


class LimitedKie(ScriptedKie):
    """createTask behind a real limiter, as `KieClient` calls it; records the prompts in the order KIE got them."""

    def __init__(self, limiter: SlidingWindowLimiter) -> None:
        super().__init__()
        self.limiter = limiter
        self.in_line = 0
        self.prompts: list[str] = []

    async def create_task(self, model: str, input: dict[str, Any], callback_url: str | None = None,
                          api: Any = None) -> str:
        self.in_line += 1
        async with self.limiter.slot("createTask"):
            self.prompts.append(input["prompt"])
            return await super().create_task(model, input, callback_url, api)


class HeldStatus(RecordingNotifier):
    """The status of `held_job` waits (for its Telegram turn, say) until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.held_job = 0
        self.release = asyncio.Event()

    async def show_status(self, job: Job, *, final: bool = False) -> None:
        if job.id == self.held_job:
            await self.release.wait()
        await super().show_status(job, final=final)


async def until(condition) -> None:  # type: ignore[no-untyped-def]
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_the_engine_submits_in_the_fair_order(db_sessionmaker) -> None:
    time = ManualTime()
    limiter = SlidingWindowLimiter({"createTask": (1, 10.0)}, clock=time, sleep=time.sleep)
    kie, notifier = LimitedKie(limiter), HeldStatus()
    clock = Clock()
    engine = make_engine(db_sessionmaker, kie, notifier, clock, max_active_per_user=3)
    async with db_sessionmaker() as session:
        a, b = await add_user(session, 41), await add_user(session, 42)
        a_jobs = await add_jobs(session, a, 5, prompts="a", now=clock())  # a's five first
        await add_jobs(session, b, 1, prompts="b", now=clock())  # then b's one
        await session.commit()
    notifier.held_job = a_jobs[0]  # a's first status message waits for its turn at Telegram
    limiter.try_acquire("createTask")  # KIE's window is full: every claimed job waits in line
    time.go.clear()
    ticking = asyncio.create_task(engine.tick())
    await until(lambda: kie.in_line == 4)  # a's first three and b's one, a's first still showing its status
    time.go.set()
    await until(lambda: len(kie.prompts) == 4)
    notifier.release.set()
    assert await ticking == 4
    assert kie.prompts == ["a0", "b0", "a1", "a2"]  # b's only job before a's second


async def test_a_first_job_claimed_later_goes_ahead_of_second_jobs_already_waiting_for_kie(db_sessionmaker) -> None:
    time = ManualTime()
    limiter = SlidingWindowLimiter({"createTask": (1, 10.0)}, clock=time, sleep=time.sleep)
    kie, clock = LimitedKie(limiter), Clock()
    engine = make_engine(db_sessionmaker, kie, RecordingNotifier(), clock, max_active_per_user=3)
    async with db_sessionmaker() as session:
        a, b = await add_user(session, 51), await add_user(session, 52)
        await add_jobs(session, a, 5, prompts="a", now=clock())
        await session.commit()
    limiter.try_acquire("createTask")
    time.go.clear()
    first = asyncio.create_task(engine.tick())
    await until(lambda: kie.in_line == 3)  # a's first three wait for KIE's window
    async with db_sessionmaker() as session:
        await add_jobs(session, b, 1, prompts="b", now=clock())  # b confirms now
        await session.commit()
    second = asyncio.create_task(engine.tick())
    await until(lambda: kie.in_line == 4)
    time.go.set()
    assert await asyncio.gather(first, second) == [3, 1]
    assert kie.prompts == ["a0", "b0", "a1", "a2"]
