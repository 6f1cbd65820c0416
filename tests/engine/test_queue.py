"""The fair line: the oldest waiting job of a user below MAX_ACTIVE_PER_USER starts first; position in line."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from kiebot.store import jobs as job_repo
from kiebot.store import users
from kiebot.store.models import Job, JobState

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
_keys = itertools.count()


async def add_user(session, user_id: int) -> int:  # type: ignore[no-untyped-def]
    await users.get_or_create_user(session, user_id, username=None, first_name=None, welcome_bonus=10_000)
    return user_id


async def add_jobs(session, user_id: int, count: int, state: JobState = JobState.WAITING) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    for _ in range(count):
        job = await job_repo.create_job(session, user_id=user_id, chat_id=user_id, language="en", model_id="m",
                                        values={}, files=[], confirm_key=f"k{next(_keys)}", price=1, credits="1",
                                        now=T0)
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
