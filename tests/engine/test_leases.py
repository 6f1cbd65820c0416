"""Leases: short, renewed while a step runs, taken over after a crash; a worker that lost a job changes nothing."""
from __future__ import annotations

import asyncio

import pytest

from kiebot.engine.worker import UNSENT
from kiebot.store import jobs as job_repo
from kiebot.store.models import JobState
from tests.engine.kit import (
    Clock,
    RecordingNotifier,
    ScriptedKie,
    make_engine,
    money,
    new_job,
    record,
    run_until,
    state_of,
)

URL = "https://r/1.png"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_lease_is_short_enough_for_a_takeover_within_30_seconds() -> None:
    from kiebot.config import Settings

    settings = Settings(_env_file=None)
    assert settings.job_lease_seconds + settings.worker_interval <= 30


async def test_a_heartbeat_keeps_a_long_step_and_a_crash_hands_it_over(db_sessionmaker, clock) -> None:
    kie, notifier = ScriptedKie(), RecordingNotifier()
    first = make_engine(db_sessionmaker, kie, notifier, clock)
    job_id = await new_job(db_sessionmaker, clock)
    kie.gate = asyncio.Event()  # createTask hangs: the step runs longer than the lease
    step = asyncio.create_task(first.tick())
    await kie.entered.wait()
    other = make_engine(db_sessionmaker, ScriptedKie(), RecordingNotifier(), clock)
    for _ in range(4):  # 80 s of fake time, the lease (25 s) renewed every 20 s
        clock.advance(20)
        assert await first.heartbeat.renew() == set()
        assert await other.tick() == 0  # nobody else may take it
    kie.gate.set()
    await step
    job = await state_of(db_sessionmaker, job_id)
    assert job.state == JobState.RUNNING and job.kie_task_id == "task-1" and job.lease_owner is None

    # At its next poll the first worker claims the job again and dies (kill -9) mid-step: the lease stays.
    clock.advance(10)
    async with db_sessionmaker() as session:
        assert len(await job_repo.claim_due(session, first.owner, clock(), first.lease_seconds, 10, 5)) == 1
        await session.commit()
    restarted = make_engine(db_sessionmaker, kie, notifier, clock)
    clock.advance(first.lease_seconds - 1)
    assert await restarted.tick() == 0
    clock.advance(1)  # the lease ran out: the restarted bot takes the job up
    kie.records = [record("task-1", "success", (URL,))]
    done = await run_until(restarted, clock, db_sessionmaker, job_id, (JobState.DONE,))
    assert done.charged == 8 and notifier.delivered == [(job_id, [URL])] and len(kie.created) == 1


async def test_after_a_crash_every_open_job_is_taken_up_within_the_lease(db_sessionmaker, clock) -> None:
    kie, notifier = ScriptedKie(), RecordingNotifier()
    engine = make_engine(db_sessionmaker, kie, notifier, clock, max_active_per_user=10)
    ids = [await new_job(db_sessionmaker, clock, key=f"k{i}") for i in range(4)]
    async with db_sessionmaker() as session:  # a worker moved them along and was killed mid-step, leases held
        await job_repo.claim_due(session, "dead", clock(), engine.lease_seconds, 10, 10)
        await job_repo.update_job(session, ids[1], "dead", state=JobState.SUBMITTING)
        await job_repo.update_job(session, ids[2], "dead", state=JobState.SUBMITTING)
        await job_repo.attach_task(session, ids[2], "task-x")
        await job_repo.update_job(session, ids[3], "dead", state=JobState.SUBMITTING)
        await job_repo.attach_task(session, ids[3], "task-y")
        await job_repo.update_job(session, ids[3], "dead", state=JobState.DELIVERING, result={"urls": [URL]})
        await session.commit()
    clock.advance(engine.lease_seconds)
    assert await engine.tick() == 4  # waiting, submitting, running, delivering: all taken up at once
    states = [(await state_of(db_sessionmaker, job_id)).state for job_id in ids]
    assert states == [JobState.RUNNING, JobState.FAILED, JobState.RUNNING, JobState.DONE]
    assert (await state_of(db_sessionmaker, ids[1])).error_code == "interrupted"


async def test_a_step_that_lost_its_lease_changes_nothing_and_its_task_is_reported_once(db_sessionmaker,
                                                                                         clock) -> None:
    kie, notifier = ScriptedKie(), RecordingNotifier()
    slow = make_engine(db_sessionmaker, kie, notifier, clock)
    job_id = await new_job(db_sessionmaker, clock)
    kie.gate = asyncio.Event()
    step = asyncio.create_task(slow.tick())
    await kie.entered.wait()  # createTask sent; this worker's heartbeat stalls (no renew)
    clock.advance(slow.lease_seconds + 1)
    other = make_engine(db_sessionmaker, ScriptedKie(), notifier, clock)
    assert await other.tick() == 1  # takes the job over: submitting with no task, so failed and released
    assert (await state_of(db_sessionmaker, job_id)).state == JobState.FAILED
    assert await slow.heartbeat.renew() == {job_id}
    kie.gate.set()  # KIE answers the first worker at last
    await step
    job = await state_of(db_sessionmaker, job_id)
    assert job.state == JobState.FAILED and job.error_code == "interrupted"
    assert job.kie_task_id == "task-1"  # written down on the job for the record
    assert await money(db_sessionmaker) == (100, 0)  # released once, never charged
    assert len(kie.created) == 1 and len(notifier.alerts) == 1 and "task-1" in notifier.alerts[0]


async def test_a_worker_that_lost_a_delivering_job_does_not_send_it(db_sessionmaker, clock) -> None:
    notifier = RecordingNotifier()
    slow = make_engine(db_sessionmaker, ScriptedKie(), notifier, clock)
    job_id = await new_job(db_sessionmaker, clock)
    [job] = await slow._claim(10)
    async with db_sessionmaker() as session:
        await job_repo.update_job(session, job_id, slow.owner, state=JobState.DELIVERING, result={"urls": [URL]})
        await session.commit()
    clock.advance(slow.lease_seconds + 1)
    async with db_sessionmaker() as session:  # another worker takes it once the lease ran out
        assert len(await job_repo.claim_due(session, "other", clock(), 25, 10, 5)) == 1
        await session.commit()
    assert await slow.heartbeat.renew() == {job_id}
    await slow.advance(await state_of(db_sessionmaker, job_id))
    assert notifier.attempts == 0
    job = await state_of(db_sessionmaker, job_id)
    assert job.state == JobState.DELIVERING and job.lease_owner == "other"
    assert await money(db_sessionmaker) == (92, 8)


async def test_a_job_caught_before_its_create_task_was_sent_is_started_again(db_sessionmaker, clock) -> None:
    """`submitting` with the `unsent` mark: its worker died while showing the status or refreshing files, before
    createTask; the job is sent once by the next worker, not failed."""
    kie, notifier = ScriptedKie(), RecordingNotifier()
    engine = make_engine(db_sessionmaker, kie, notifier, clock)
    job_id = await new_job(db_sessionmaker, clock)
    async with db_sessionmaker() as session:
        await job_repo.claim_due(session, "dead", clock(), engine.lease_seconds, 10, 10)
        await job_repo.update_job(session, job_id, "dead", state=JobState.SUBMITTING, kie_state=UNSENT)
        await session.commit()
    assert await engine.tick() == 0  # its lease still runs
    clock.advance(engine.lease_seconds)
    kie.records = [record("task-1", "success", (URL,))]
    done = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.DONE,))
    assert done.charged == 8 and len(kie.created) == 1 and notifier.delivered == [(job_id, [URL])]
    assert await money(db_sessionmaker) == (92, 0)


async def test_a_job_released_and_claimed_again_during_a_beat_is_not_called_lost(monkeypatch, clock) -> None:
    """The beat's UPDATE ran after the step gave the lease back and before the next claim took it again: it did not
    renew that lease, but the new hold is not the one the beat saw."""
    from kiebot.engine import leases

    class Session:
        async def __aenter__(self) -> Session:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def commit(self) -> None:
            return None

    heartbeat = leases.Heartbeat(lambda: Session(), "worker-a", 25, clock)  # type: ignore[arg-type]
    heartbeat.hold(1)
    heartbeat.hold(2)

    async def renew_leases(session: object, owner: str, job_ids: list[int], until: object) -> set[int]:
        assert job_ids == [1, 2]
        heartbeat.drop(1)  # job 1's step ends and gives its lease back...
        heartbeat.hold(1)  # ...and the next claim takes it again, after this UPDATE found it free
        return set()  # neither lease was renewed: job 2's was really taken by someone else

    monkeypatch.setattr(leases.job_repo, "renew_leases", renew_leases)
    assert await heartbeat.renew() == {2}
    assert not heartbeat.lost(1) and heartbeat.lost(2)
