"""Delivery: a result is charged only when it reaches the user; one that cannot be sent yet stays pending."""
from __future__ import annotations

import pytest

from kiebot.kie.records import TaskRecord
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
from tests.store_fixtures import StoreDB, db_sessionmaker, store_db  # noqa: F401

URL = "https://r/1.png"


@pytest.fixture
def parts(db_sessionmaker):
    kie, notifier, clock = ScriptedKie(), RecordingNotifier(), Clock()
    return make_engine(db_sessionmaker, kie, notifier, clock), kie, notifier, clock


async def test_a_telegram_outage_keeps_the_result_pending_and_charges_only_on_delivery(parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    await run_until(engine, clock, db_sessionmaker, job_id, (JobState.RUNNING,))
    notifier.down = True  # Telegram goes away while KIE generates: status edits and sends fail alike
    kie.records = [record("task-1", "success", (URL,))]
    await run_until(engine, clock, db_sessionmaker, job_id, (JobState.DELIVERING, JobState.DONE))
    for _ in range(60):  # two hours of failed sends, the clock moving two minutes between looks
        clock.advance(120)
        await engine.tick()
    job = await state_of(db_sessionmaker, job_id)
    assert job.state == JobState.DELIVERING and notifier.attempts > 8
    assert await money(db_sessionmaker) == (92, 8)  # still held: nothing reached the user
    notifier.down = False
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.DONE, JobState.FAILED), step=120)
    assert job.state == JobState.DONE and job.charged == 8
    assert notifier.delivered == [(job_id, [URL])]
    assert await money(db_sessionmaker) == (92, 0)


@pytest.mark.parametrize("result_json", ["", "{not json", '{"resultUrls": []}'])
async def test_a_success_without_a_readable_result_is_a_failure_and_released(parts, db_sessionmaker,
                                                                             result_json) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    kie.records = [TaskRecord.from_data({"taskId": "task-1", "state": "success", "resultJson": result_json})]
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.DONE, JobState.FAILED))
    assert job.state == JobState.FAILED and job.charged is None
    assert notifier.delivered == []
    assert await money(db_sessionmaker) == (100, 0)
