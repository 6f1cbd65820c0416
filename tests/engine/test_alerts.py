"""Operator alerts go out once per incident (per KIE code and hour), whichever replica meets it."""
from __future__ import annotations

from datetime import timedelta

from kiebot.kie import errors as kie_errors
from kiebot.store.alerts import claim_alert
from kiebot.store.models import JobState
from tests.engine.kit import Clock, RecordingNotifier, ScriptedKie, make_engine, new_job, run_until


async def test_an_invalid_key_is_reported_once_per_hour_across_replicas(db_sessionmaker) -> None:
    clock, notifier = Clock(), RecordingNotifier()
    replicas = []
    for _ in range(2):
        kie = ScriptedKie()
        kie.create_errors = [kie_errors.KieAuthError(401, "You do not have access permissions")] * 10
        replicas.append(make_engine(db_sessionmaker, kie, notifier, clock, max_active_per_user=10))
    for i in range(5):  # five jobs fail, on one replica or the other
        job_id = await new_job(db_sessionmaker, clock, key=f"k{i}")
        await run_until(replicas[i % 2], clock, db_sessionmaker, job_id, (JobState.FAILED,), step=60)
    assert len(notifier.alerts) == 1 and "401" in notifier.alerts[0]
    clock.advance(3600)  # an hour later the incident is still there: one reminder
    job_id = await new_job(db_sessionmaker, clock, key="later")
    await run_until(replicas[1], clock, db_sessionmaker, job_id, (JobState.FAILED,))
    assert len(notifier.alerts) == 2


async def test_polling_errors_alert_once_not_once_per_poll(db_sessionmaker) -> None:
    clock, notifier, kie = Clock(), RecordingNotifier(), ScriptedKie()
    engine = make_engine(db_sessionmaker, kie, notifier, clock, max_active_per_user=5)
    ids = [await new_job(db_sessionmaker, clock, key=f"p{i}") for i in range(3)]
    await engine.tick()  # three running jobs
    kie.records = [kie_errors.KieQuota(433, "Sub-key usage limit exceeded")] * 12
    for _ in range(4):
        clock.advance(30)
        await engine.tick()
    assert kie.polls >= 12 and len(notifier.alerts) == 1 and "433" in notifier.alerts[0]
    assert len(ids) == 3


async def test_the_claim_is_shared_and_windowed(db_sessionmaker) -> None:
    clock = Clock()
    async with db_sessionmaker() as session:
        assert await claim_alert(session, "kie:402", clock(), timedelta(hours=1))
        assert not await claim_alert(session, "kie:402", clock() + timedelta(minutes=59), timedelta(hours=1))
        assert await claim_alert(session, "kie:401", clock(), timedelta(hours=1))
        assert await claim_alert(session, "kie:402", clock() + timedelta(hours=1), timedelta(hours=1))
        assert await claim_alert(session, "orphan:t", clock(), None)
        assert not await claim_alert(session, "orphan:t", clock() + timedelta(days=30), None)
        await session.commit()
