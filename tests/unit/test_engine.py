"""The job engine against a real database, a scripted KIE and a recording notifier (no Telegram, no HTTP)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from kiebot.catalog import Catalog
from kiebot.catalog.pricing import MediaFacts
from kiebot.config import Settings
from kiebot.engine import Engine, RecipientGone
from kiebot.engine import worker as worker_module
from kiebot.kie import errors as kie_errors
from kiebot.kie.client import announce_send
from kiebot.kie.records import TaskRecord
from kiebot.store import jobs as job_repo
from kiebot.store import wallet
from kiebot.store.models import Job, JobState, LedgerEntry
from kiebot.store.users import get_or_create_user
from tests.store_fixtures import StoreDB, db_sessionmaker, store_db  # noqa: F401

CATALOG = Catalog.load()
USER = 42


class ScriptedKie:
    """createTask/recordInfo answers given by the test; uploads are never needed here."""

    def __init__(self) -> None:
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.create_errors: list[Exception] = []
        self.records: list[TaskRecord | Exception] = []

    async def create_task(self, model: str, input: dict[str, Any], callback_url: str | None = None,
                          api: Any = None) -> str:
        await announce_send()  # as the real client does once its rate limiter lets the call go
        if self.create_errors:
            raise self.create_errors.pop(0)
        self.created.append((model, input))
        return f"task-{len(self.created)}"

    async def record_info(self, task_id: str, api: Any = None) -> TaskRecord:
        answer = self.records.pop(0) if self.records else record(task_id, "generating")
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def upload_file(self, data: bytes, file_name: str, mime: str) -> str:
        raise AssertionError("no upload expected")


def record(task_id: str, state: str, urls: tuple[str, ...] = (), fail_msg: str | None = None) -> TaskRecord:
    return TaskRecord(task_id=task_id, model="m", state=state, result_urls=list(urls), result_object=None,
                      fail_code="500" if fail_msg else None, fail_msg=fail_msg, progress=None, cost_time_ms=None,
                      create_time=None, complete_time=None, param=None)


class RecordingNotifier:
    def __init__(self) -> None:
        self.statuses: list[tuple[int, str, bool]] = []
        self.delivered: list[tuple[int, list[str]]] = []
        self.alerts: list[str] = []
        self.gone = False

    async def show_status(self, job: Job, *, final: bool = False) -> None:
        self.statuses.append((job.id, job.state, final))

    async def deliver(self, job: Job, urls: list[str]) -> list[dict[str, Any]]:
        if self.gone:
            raise RecipientGone("blocked")
        self.delivered.append((job.id, urls))
        return [{"type": "photo", "file_id": f"f{job.id}"}]

    async def download(self, file_id: str) -> bytes:
        raise AssertionError("no download expected")

    async def alert_operators(self, alert: str, **params: Any) -> None:
        self.alerts.append(alert)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def parts(db_sessionmaker):  # noqa: F811
    kie, notifier, clock = ScriptedKie(), RecordingNotifier(), Clock()
    settings = Settings(_env_file=None, max_active_per_user=1)
    engine = Engine(sessionmaker=db_sessionmaker, kie=kie, catalog=CATALOG, notifier=notifier,
                    settings=settings, clock=clock)
    return engine, kie, notifier, clock


async def new_job(sessionmaker, clock: Clock, model_id: str = "google/nano-banana", price: int = 8,
                  values: dict[str, Any] | None = None, key: str = "c1") -> int:
    async with sessionmaker() as session:
        await get_or_create_user(session, USER, username=None, first_name="U", welcome_bonus=100)
        job = await job_repo.create_job(
            session, user_id=USER, chat_id=USER, language="en", model_id=model_id,
            values=values or {"prompt": "a fox"}, files=[], confirm_key=key, price=price, credits="4", now=clock(),
        )
        await session.commit()
        return job.id


async def state_of(sessionmaker, job_id: int) -> Job:
    async with sessionmaker() as session:
        return await job_repo.get_job(session, job_id)


async def money(sessionmaker) -> tuple[int, int]:
    async with sessionmaker() as session:
        return await wallet.get_balance(session, USER)


async def run_until(engine: Engine, clock: Clock, sessionmaker, job_id: int, states: tuple[str, ...]) -> Job:
    for _ in range(50):
        await engine.tick()
        job = await state_of(sessionmaker, job_id)
        if job.state in states:
            return job
        clock.advance(30)
    raise AssertionError(f"job stayed {job.state}")


async def test_a_job_is_submitted_polled_delivered_and_charged_once(parts, db_sessionmaker) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    assert await money(db_sessionmaker) == (92, 8)
    kie.records = [kie_errors.KieRecordPending(422, "recordInfo is null"), record("task-1", "queuing"),
                   record("task-1", "success", ("https://r/1.png",))]
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.DONE,))
    assert kie.created == [("google/nano-banana", {"prompt": "a fox"})]
    assert notifier.delivered == [(job_id, ["https://r/1.png"])]
    assert job.charged == 8 and job.delivered == [{"type": "photo", "file_id": f"f{job_id}"}]
    assert await money(db_sessionmaker) == (92, 0)
    await engine.tick()  # nothing left to do: no second delivery, no second charge
    assert len(notifier.delivered) == 1
    assert notifier.statuses[-1] == (job_id, JobState.DONE, True)


@pytest.mark.parametrize(("error", "reason"), [
    (kie_errors.KieValidation(422, "prompt is too long"), "rejected"),
    (kie_errors.KieInsufficientCredits(402, "no credits"), "service"),
    (kie_errors.KieAuthError(401, "no access"), "service"),
    (kie_errors.KieGenerationFailed(501, "failed"), "generation"),
])
async def test_a_refused_task_is_failed_and_released(parts, db_sessionmaker, error, reason) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    kie.create_errors = [error]
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.FAILED,))
    assert job.error_code == reason
    assert await money(db_sessionmaker) == (100, 0)
    assert bool(notifier.alerts) == error.operator_alert


async def test_rate_limited_submissions_are_retried(parts, db_sessionmaker) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    kie.create_errors = [kie_errors.KieRateLimited(429, "slow down"), kie_errors.KieUnavailable(455, "maintenance")]
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.RUNNING,))
    assert job.attempts == 2 and len(kie.created) == 1


async def test_a_failed_generation_is_released(parts, db_sessionmaker) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    kie.records = [record("task-1", "fail", fail_msg="NSFW content")]
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.FAILED,))
    assert (job.error_code, job.error_detail) == ("policy", "NSFW content")
    async with db_sessionmaker() as session:
        kinds = (await session.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.id))).all()
    assert kinds == ["bonus", "hold", "release"]


async def test_a_job_caught_mid_submission_by_a_crash_is_released(parts, db_sessionmaker) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    async with db_sessionmaker() as session:  # another worker claimed it, marked it submitting, and died
        await job_repo.claim_due(session, "dead-worker", clock(), 60, 10, 5)
        await job_repo.update_job(session, job_id, "dead-worker", state=JobState.SUBMITTING)
        await session.commit()
    assert await engine.tick() == 0  # its lease is still running
    clock.advance(61)
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.FAILED,))
    assert job.error_code == "interrupted" and kie.created == []
    assert await money(db_sessionmaker) == (100, 0)


async def test_a_task_that_never_ends_times_out_and_is_released(parts, db_sessionmaker) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    job_id = await new_job(db_sessionmaker, clock)
    await engine.tick()
    clock.advance(16 * 60)  # images: 15 minutes
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.FAILED,))
    assert job.error_code == "timeout" and await money(db_sessionmaker) == (100, 0)


async def test_a_user_who_blocked_the_bot_is_not_charged(parts, db_sessionmaker) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    notifier.gone = True
    job_id = await new_job(db_sessionmaker, clock)
    kie.records = [record("task-1", "success", ("https://r/1.png",))]
    job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.FAILED,))
    assert job.error_code == "undelivered" and await money(db_sessionmaker) == (100, 0)


async def test_jobs_beyond_the_active_limit_wait_in_line(parts, db_sessionmaker) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    first = await new_job(db_sessionmaker, clock, key="a")
    second = await new_job(db_sessionmaker, clock, key="b")
    await engine.tick()
    assert (await state_of(db_sessionmaker, first)).state == JobState.RUNNING
    assert (await state_of(db_sessionmaker, second)).state == JobState.WAITING  # MAX_ACTIVE_PER_USER=1
    kie.records = [record("task-1", "success", ("https://r/1.png",))]
    await run_until(engine, clock, db_sessionmaker, first, (JobState.DONE,))
    await run_until(engine, clock, db_sessionmaker, second, (JobState.RUNNING, JobState.DONE))


async def test_a_price_that_depends_on_the_output_is_settled_from_it(parts, db_sessionmaker, monkeypatch) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    model = CATALOG.get("topaz/image-upscale")
    values = {"image_url": "https://files.example/in.png", "upscale_factor": "2"}
    # Held: the highest size class, 8K = 40 credits × markup 2 = 80. The output is 2000 px: 2K = 10 × 2 = 20.
    async with db_sessionmaker() as session:
        await get_or_create_user(session, USER, username=None, first_name="U", welcome_bonus=100)
        job = await job_repo.create_job(session, user_id=USER, chat_id=USER, language="en", model_id=model.id,
                                        values=values, files=[], confirm_key="t", price=80, credits="40", now=clock())
        await session.commit()

    async def measured(urls: list[str]) -> list[MediaFacts]:
        return [MediaFacts(seconds=None, width=2000, height=1500)]

    monkeypatch.setattr(worker_module, "measure_outputs", measured)
    kie.records = [record("task-1", "success", ("https://r/up.png",))]
    done = await run_until(engine, clock, db_sessionmaker, job.id, (JobState.DONE,))
    assert done.charged == 20
    assert await money(db_sessionmaker) == (80, 0)
    assert Decimal(done.credits) == Decimal(40)


async def test_a_length_unknown_before_the_run_is_settled_from_the_result(parts, db_sessionmaker, monkeypatch) -> None:  # noqa: F811
    engine, kie, notifier, clock = parts
    model = CATALOG.get("topaz/video-upscale")
    values = {"video_url": "https://files.example/in.mp4", "upscale_factor": "2"}
    # The input came as a document without a length: the cap is held, 30 s × 8 credits × 2 = 480.
    # The upscaled video is 10 s long: 10 × 8 × 2 = 160 is charged, 320 goes back.
    async with db_sessionmaker() as session:
        await get_or_create_user(session, USER, username=None, first_name="U", welcome_bonus=500)
        job = await job_repo.create_job(session, user_id=USER, chat_id=USER, language="en", model_id=model.id,
                                        values=values, files=[], confirm_key="v", price=480, credits="240", now=clock())
        await session.commit()

    async def measured(urls: list[str]) -> list[MediaFacts]:
        return [MediaFacts(seconds=10.0, width=None, height=None)]

    monkeypatch.setattr(worker_module, "measure_outputs", measured)
    kie.records = [record("task-1", "success", ("https://r/up.mp4",))]
    done = await run_until(engine, clock, db_sessionmaker, job.id, (JobState.DONE,))
    assert done.charged == 160 and await money(db_sessionmaker) == (340, 0)


async def test_a_disabled_feature_refunds_and_stops_offering_the_model(parts, db_sessionmaker) -> None:  # noqa: F811
    from kiebot.store.models_status import disabled_models

    engine, kie, notifier, clock = parts
    told: list[str] = []

    async def models_changed() -> None:  # the app hands `Offering.forget_disabled` here
        async with db_sessionmaker() as session:
            told.extend(await disabled_models(session))  # called once the disable has committed

    engine.models_changed = models_changed
    first = await new_job(db_sessionmaker, clock, key="a")
    second = await new_job(db_sessionmaker, clock, key="b")
    kie.create_errors = [kie_errors.KieFeatureDisabled(505, "feature disabled")]
    assert (await run_until(engine, clock, db_sessionmaker, first, (JobState.FAILED,))).error_code == "unavailable"
    async with db_sessionmaker() as session:
        assert await disabled_models(session) == {"google/nano-banana"}
    assert told == ["google/nano-banana"]
    job = await run_until(engine, clock, db_sessionmaker, second, (JobState.FAILED,))
    assert job.error_code == "unavailable" and kie.created == []  # never sent to KIE again
    assert await money(db_sessionmaker) == (100, 0)
    assert "alert-model-disabled" in notifier.alerts
    offered = CATALOG.without({"google/nano-banana"}, "disabled")
    assert offered.get("google/nano-banana") is None and ("google/nano-banana", "disabled") in offered.excluded
