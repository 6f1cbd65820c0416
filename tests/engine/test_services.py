"""The UI's service calls: status, cancel while waiting in the bot's line, try again after a failure."""
from __future__ import annotations

from kiebot.kie import errors as kie_errors
from kiebot.services import jobs as job_service
from kiebot.services.jobs import CancelOutcome, TryAgainOutcome
from kiebot.store import jobs as job_repo
from kiebot.store.models import JobState
from tests.engine.kit import (
    CATALOG,
    USER,
    money,
    new_job,
    run_until,
    state_of,
)

OTHER = 77


async def cancel(sessionmaker, job_id: int, user_id: int = USER) -> job_service.CancelResult:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        result = await job_service.cancel_job(session, job_id, user_id)
        await session.commit()
        return result


async def test_a_job_waiting_in_line_is_cancelled_and_released_at_once(parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    first = await new_job(db_sessionmaker, clock, key="a")
    second = await new_job(db_sessionmaker, clock, key="b")
    await engine.tick()  # the first runs; the second waits (MAX_ACTIVE_PER_USER=1)
    assert await money(db_sessionmaker) == (84, 16)
    assert await cancel(db_sessionmaker, second, OTHER) == job_service.CancelResult(CancelOutcome.NOT_FOUND)
    assert await cancel(db_sessionmaker, second) == job_service.CancelResult(CancelOutcome.CANCELLED, released=8)
    assert await money(db_sessionmaker) == (92, 8)
    assert await cancel(db_sessionmaker, second) == job_service.CancelResult(CancelOutcome.TOO_LATE)
    assert await cancel(db_sessionmaker, first) == job_service.CancelResult(CancelOutcome.TOO_LATE)  # at KIE
    job = await state_of(db_sessionmaker, second)
    assert (job.state, job.error_code) == (JobState.FAILED, "cancelled")
    clock.advance(600)
    await engine.tick()
    assert len(kie.created) == 1  # the cancelled job never reached KIE


async def test_a_cancel_wins_over_a_worker_that_claimed_the_job_but_did_not_send_it(parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    [job] = await engine._claim(10)  # a worker has it leased, about to send
    assert (await cancel(db_sessionmaker, job_id)).outcome == CancelOutcome.CANCELLED
    await engine.advance(job)
    assert kie.create_calls == 0 and await money(db_sessionmaker) == (100, 0)
    assert (await state_of(db_sessionmaker, job_id)).state == JobState.FAILED


async def test_a_failed_job_gives_back_what_the_draft_needs(parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    values = {"prompt": "a fox", "aspect_ratio": "16:9"}
    failed = await new_job(db_sessionmaker, clock, key="f", values=values)
    kie.create_errors = [kie_errors.KieValidation(422, "prompt refused")]
    await run_until(engine, clock, db_sessionmaker, failed, (JobState.FAILED,))
    running = await new_job(db_sessionmaker, clock, key="r")
    async with db_sessionmaker() as session:
        again = await job_service.try_again(session, failed, USER, CATALOG)
        assert again.outcome == TryAgainOutcome.READY and again.model_id == "google/nano-banana"
        assert again.values == values and again.files == []
        assert (await job_service.try_again(session, failed, OTHER, CATALOG)).outcome == TryAgainOutcome.NOT_FOUND
        assert (await job_service.try_again(session, running, USER, CATALOG)).outcome == TryAgainOutcome.NOT_FAILED
        hidden = CATALOG.without({"google/nano-banana"}, "hidden")
        assert (await job_service.try_again(session, failed, USER, hidden)).outcome == TryAgainOutcome.MODEL_GONE
    again.values["prompt"] = "changed in the draft"
    assert (await state_of(db_sessionmaker, failed)).values == values


async def test_the_status_tells_the_ui_what_it_may_offer(parts, db_sessionmaker) -> None:
    engine, kie, notifier, clock = parts
    first = await new_job(db_sessionmaker, clock, key="a")
    second = await new_job(db_sessionmaker, clock, key="b")
    await engine.tick()
    async with db_sessionmaker() as session:
        running = await job_service.job_status(session, first, USER, 1, clock())
        waiting = await job_service.job_status(session, second, USER, 1, clock())
        assert await job_service.job_status(session, second, OTHER, 1, clock()) is None
    assert (running.state, running.ahead, running.can_cancel, running.can_try_again) == (
        JobState.RUNNING, None, False, False)
    assert (waiting.state, waiting.ahead, waiting.can_cancel, waiting.price) == (JobState.WAITING, 0, True, 8)
    async with db_sessionmaker() as session:
        assert await job_repo.count_open(session, USER) == 2
