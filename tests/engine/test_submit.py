"""createTask is not idempotent: resent only when KIE certainly made no task; anything else fails and releases the
job, and a task KIE made anyway is attached (the job still waits for it) or reported once (it does not)."""
from __future__ import annotations

import logging

import pytest

from kiebot.config import Settings
from kiebot.engine import Engine
from kiebot.engine.callbacks import CallbackOutcome
from kiebot.kie import errors as kie_errors
from kiebot.kie.client import KieClient
from kiebot.kie.emulator import EmulatorTimings, Fault, start_emulator
from kiebot.store import jobs as job_repo
from kiebot.store.models import JobState
from tests.engine.kit import (
    CATALOG,
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
PUBLIC = "https://bot.example"
MAYBE_CREATED = [
    kie_errors.KieUnavailable(500, "Internal server error"),
    kie_errors.KieUnavailable(502, "HTTP 502 (text/html)"),
    kie_errors.KieUnavailable(0, "no answer from KIE (TimeoutError)", ambiguous=True),
    kie_errors.KieUnavailable(200, "unreadable answer (text/html, 80 chars)", ambiguous=True),
    kie_errors.KieUnavailable(200, "createTask answer has no taskId", ambiguous=True),
]
REFUSED = [
    kie_errors.KieRateLimited(429, "slow down"),
    kie_errors.KieUnavailable(455, "maintenance"),
    kie_errors.KieUnavailable(550, "queue full"),
    kie_errors.KieUnavailable(0, "cannot connect to KIE (ClientConnectorError)"),
]


@pytest.fixture
def parts(db_sessionmaker):
    kie, notifier, clock = ScriptedKie(), RecordingNotifier(), Clock()
    return make_engine(db_sessionmaker, kie, notifier, clock, public_url=PUBLIC), kie, notifier, clock


@pytest.mark.parametrize("error", MAYBE_CREATED, ids=lambda e: str(e)[:24])
async def test_an_answer_that_may_hide_a_task_fails_and_releases_without_a_second_task(parts, db_sessionmaker,
                                                                                        error) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    kie.create_errors = [error]
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.FAILED,))
    assert job.error_code == "service" and kie.create_calls == 1
    assert await money(db_sessionmaker) == (100, 0)
    for _ in range(5):
        clock.advance(600)
        await engine.tick()
    assert kie.create_calls == 1


@pytest.mark.parametrize("error", REFUSED, ids=lambda e: str(e)[:24])
async def test_a_request_kie_certainly_refused_is_sent_again(parts, db_sessionmaker, error) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    kie.create_errors = [error, error]
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.RUNNING,))
    assert job.attempts == 2 and kie.create_calls == 3 and len(kie.created) == 1
    assert await money(db_sessionmaker) == (92, 8)


def test_the_policy_is_one_function() -> None:
    assert [kie_errors.create_may_be_resent(e) for e in REFUSED] == [True] * len(REFUSED)
    assert [kie_errors.create_may_be_resent(e) for e in MAYBE_CREATED] == [False] * len(MAYBE_CREATED)
    assert not kie_errors.create_may_be_resent(kie_errors.KieInsufficientCredits(402, "no credits"))


async def test_the_task_id_is_logged_before_it_is_stored(parts, db_sessionmaker, caplog) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    with caplog.at_level(logging.INFO, logger="kiebot.engine"):
        await engine.tick()
    assert f"job {job_id}: KIE created task task-1 for google/nano-banana" in caplog.text
    assert kie.created[0][2] == f"{PUBLIC}/kie/callback?job={job_id}"


async def test_a_task_made_despite_a_timeout_is_reported_once_when_its_callback_comes(parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    kie.lost_answers = [kie_errors.KieUnavailable(0, "no answer from KIE (TimeoutError)", ambiguous=True)]
    await run_until(engine, clock, db_sessionmaker, job_id, (JobState.FAILED,))
    assert await money(db_sessionmaker) == (100, 0)
    kie.records = [record("task-1", "success", (URL,))]
    assert await engine.callbacks.receive("task-1", job_id) == CallbackOutcome.ORPHAN
    assert await engine.callbacks.receive("task-1", job_id) == CallbackOutcome.IGNORED  # a duplicate
    job = await state_of(db_sessionmaker, job_id)
    assert job.state == JobState.FAILED and job.kie_task_id == "task-1"
    assert len(notifier.alerts) == 1 and "task-1" in notifier.alerts[0] and f"#{job_id}" in notifier.alerts[0]
    assert await money(db_sessionmaker) == (100, 0) and notifier.delivered == []


async def test_a_task_whose_answer_was_lost_in_a_crash_is_attached_by_its_callback(parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    async with db_sessionmaker() as session:  # a worker sent createTask and died before storing the answer
        await job_repo.claim_due(session, "dead", clock(), 25, 10, 5)
        await job_repo.update_job(session, job_id, "dead", state=JobState.SUBMITTING)
        await session.commit()
    kie.created.append(("google/nano-banana", {"prompt": "a fox"}, f"{PUBLIC}/kie/callback?job={job_id}"))
    kie.records = [record("task-1", "success", (URL,))] * 2
    assert await engine.callbacks.receive("task-1", job_id) == CallbackOutcome.ATTACHED
    assert (await state_of(db_sessionmaker, job_id)).state == JobState.RUNNING
    clock.advance(25)  # the dead worker's lease runs out
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.DONE, JobState.FAILED))
    assert job.state == JobState.DONE and job.charged == 8 and notifier.delivered == [(job_id, [URL])]
    assert notifier.alerts == []


async def test_a_forged_callback_naming_a_job_attaches_nothing(parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    async with db_sessionmaker() as session:
        await job_repo.claim_due(session, "dead", clock(), 25, 10, 5)
        await job_repo.update_job(session, job_id, "dead", state=JobState.SUBMITTING)
        await session.commit()
    kie.created.append(("google/nano-banana", {"prompt": "a fox"}, f"{PUBLIC}/kie/callback?job={job_id + 1}"))
    assert await engine.callbacks.receive("task-1", job_id) == CallbackOutcome.IGNORED  # made for another job
    assert await engine.callbacks.receive("task-unknown", job_id) == CallbackOutcome.IGNORED
    job = await state_of(db_sessionmaker, job_id)
    assert job.state == JobState.SUBMITTING and job.kie_task_id is None and notifier.alerts == []


async def test_a_500_from_the_emulator_makes_one_task_call_and_releases(db_sessionmaker) -> None:
    emulator = await start_emulator(api_key="k", timings=EmulatorTimings(0.05, 0.05, 0.05, 0.05))
    kie = KieClient(emulator.url, emulator.url, "k", backoff_base=0)
    try:
        clock, notifier = Clock(), RecordingNotifier()
        engine = Engine(sessionmaker=db_sessionmaker, kie=kie, catalog=CATALOG, notifier=notifier,
                        settings=Settings(_env_file=None), clock=clock)
        job_id = await new_job(db_sessionmaker, clock)
        emulator.state.faults.append(Fault(code=500, endpoint="createTask", times=5))
        job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.FAILED,))
        assert job.error_code == "service" and emulator.state.calls["createTask"] == 1
        assert await money(db_sessionmaker) == (100, 0)
    finally:
        await kie.close()
        await emulator.close()
