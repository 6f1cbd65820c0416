"""Delivery: a result is charged only when it reaches the user; one that cannot be sent yet stays pending."""
from __future__ import annotations

from datetime import timedelta

import pytest

from kiebot.kie import errors as kie_errors
from kiebot.kie.records import TaskRecord
from kiebot.store.models import JobState
from tests.engine.kit import (
    money,
    new_job,
    record,
    run_until,
    state_of,
)

URL = "https://r/1.png"


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


async def test_a_result_that_cannot_be_sent_for_a_day_is_released_and_attempts_are_counted_apart(
        parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    kie.create_errors = [kie_errors.KieRateLimited(429, "slow down")]  # one submit retry
    await run_until(engine, clock, db_sessionmaker, job_id, (JobState.RUNNING,))
    notifier.down = True
    kie.records = [record("task-1", "success", (URL,))]
    await run_until(engine, clock, db_sessionmaker, job_id, (JobState.DELIVERING,))
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.FAILED, JobState.DONE),
                          step=600, limit=200)
    assert (job.state, job.error_code) == (JobState.FAILED, "undelivered")
    assert job.finished_at - job.delivering_since >= timedelta(hours=24)
    assert job.attempts == 1 and job.delivery_attempts > 24  # the submit retry is not a delivery attempt
    assert await money(db_sessionmaker) == (100, 0) and notifier.delivered == []


async def test_a_user_who_blocked_the_bot_is_released_not_retried(parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    notifier.gone = True
    job_id = await new_job(db_sessionmaker, clock)
    kie.records = [record("task-1", "success", (URL,))]
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.DONE, JobState.FAILED))
    assert (job.state, job.error_code) == (JobState.FAILED, "undelivered") and notifier.attempts == 1
