"""Shared parts for engine tests: a fake clock, a scripted KIE, a recording notifier, job helpers.

Everything runs against a real database (`store_db`: SQLite, and PostgreSQL with TEST_DATABASE_URL); time moves
only when a test moves the clock, so no test depends on how fast this machine is.
"""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kiebot.bot.i18n import Translator
from kiebot.catalog import Catalog
from kiebot.config import Settings
from kiebot.engine import Engine, RecipientGone
from kiebot.kie.client import announce_send
from kiebot.kie.records import TaskRecord
from kiebot.store import jobs as job_repo
from kiebot.store import wallet
from kiebot.store.models import Job
from kiebot.store.users import get_or_create_user

CATALOG = Catalog.load()
USER = 42


OPERATOR_TEXTS = Translator("en")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def record(task_id: str, state: str, urls: tuple[str, ...] = (), fail_msg: str | None = None) -> TaskRecord:
    return TaskRecord(task_id=task_id, model="m", state=state, result_urls=list(urls),
                      fail_code="500" if fail_msg else None, fail_msg=fail_msg)


class ScriptedKie:
    """createTask / recordInfo answers given by the test.

    `create_errors`: raised by the next createTask calls (no task made). `lost_answers`: the next createTask calls
    make a task and then raise (a timeout after KIE took the request). `gate`, when set, holds createTask until it
    opens (`poll_gate`: recordInfo). A task's record carries its create body's callBackUrl in `param`, as KIE's does.
    """

    def __init__(self) -> None:
        self.created: list[tuple[str, dict[str, Any], str | None]] = []
        self.create_calls = 0
        self.create_errors: list[Exception] = []
        self.lost_answers: list[Exception] = []
        self.records: list[TaskRecord | Exception] = []
        self.polls = 0
        self.gate: asyncio.Event | None = None
        self.poll_gate: asyncio.Event | None = None  # holds recordInfo until it opens
        self.entered = asyncio.Event()  # set when a createTask call has started

    async def create_task(self, model: str, input: dict[str, Any], callback_url: str | None = None,
                          api: Any = None) -> str:
        await announce_send()  # as the real client does once its rate limiter lets the call go
        self.create_calls += 1
        self.entered.set()  # the call is on its way to KIE (held there while `gate` is closed)
        if self.gate is not None:
            await self.gate.wait()
        if self.create_errors:
            raise self.create_errors.pop(0)
        self.created.append((model, input, callback_url))
        if self.lost_answers:
            raise self.lost_answers.pop(0)
        return f"task-{len(self.created)}"

    async def record_info(self, task_id: str, api: Any = None) -> TaskRecord:
        self.polls += 1
        if self.poll_gate is not None:
            await self.poll_gate.wait()
        answer = self.records.pop(0) if self.records else record(task_id, "generating")
        if isinstance(answer, Exception):
            raise answer
        number = int(task_id.removeprefix("task-")) if task_id.removeprefix("task-").isdigit() else 0
        if 0 < number <= len(self.created):
            answer = replace(answer, param={"callBackUrl": self.created[number - 1][2]})
        return answer

    async def upload_file(self, data: bytes, file_name: str, mime: str) -> str:
        raise AssertionError("no upload expected")


class ManualTime:
    """Seconds for a rate limiter: the clock moves only when a sleeper sleeps, and sleepers sleep only while `go`
    is set (a test clears it to hold calls in line)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.go = asyncio.Event()
        self.go.set()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await self.go.wait()
        self.now += seconds
        await asyncio.sleep(0)  # a real sleep lets others run: a waiter must not spin while the call ahead works


class RecordingNotifier:
    """Records what the engine shows and sends. `down` makes every send fail as in a Telegram outage; like the
    real notifier, a delivery without URLs raises."""

    def __init__(self) -> None:
        self.statuses: list[tuple[int, str, bool]] = []
        self.delivered: list[tuple[int, list[str]]] = []
        self.albums: list[list[int]] = []  # the job ids each batch album carried
        self.attempts = 0
        self.alerts: list[str] = []
        self.gone = False
        self.down = False

    async def show_status(self, job: Job, *, final: bool = False) -> None:
        if self.down:
            raise ConnectionError("Telegram is unreachable")
        self.statuses.append((job.id, job.state, final))

    async def deliver(self, job: Job, urls: list[str]) -> list[dict[str, Any]]:
        self.attempts += 1
        if self.gone:
            raise RecipientGone("blocked")
        if self.down:
            raise ConnectionError("Telegram is unreachable")
        if not urls:
            raise RuntimeError("KIE reported success without result URLs")
        self.delivered.append((job.id, urls))
        return [{"type": "photo", "file_id": f"f{job.id}"}]

    async def deliver_batch(self, jobs: list[Job], vary_field: str | None) -> dict[int, list[dict[str, Any]]]:
        """Like `deliver`, for a batch's album: records the ids of the variants it carried."""
        self.attempts += 1
        if self.gone:
            raise RecipientGone("blocked")
        if self.down:
            raise ConnectionError("Telegram is unreachable")
        carried = [job for job in jobs if job.state == "delivering"]
        self.albums.append([job.id for job in carried])
        return {job.id: [{"type": "photo", "file_id": f"f{job.id}"}] for job in carried}

    async def download(self, file_id: str) -> bytes:
        raise AssertionError("no download expected")

    async def alert_operators(self, alert: str, **params: Any) -> None:
        self.alerts.append(OPERATOR_TEXTS.get("en", alert, **params))  # as an English-speaking admin reads it


def make_engine(sessionmaker, kie: Any, notifier: Any, clock: Clock, **settings: Any) -> Engine:  # type: ignore[no-untyped-def]
    values: dict[str, Any] = {"max_active_per_user": 1, **settings}
    return Engine(sessionmaker=sessionmaker, kie=kie, catalog=CATALOG, notifier=notifier,
                  settings=Settings(_env_file=None, **values), clock=clock)


async def new_job(sessionmaker, clock: Clock, *, user: int = USER, model_id: str = "google/nano-banana",  # type: ignore[no-untyped-def]
                  price: int = 8, values: dict[str, Any] | None = None, key: str = "c1", bonus: int = 100) -> int:
    async with sessionmaker() as session:
        await get_or_create_user(session, user, username=None, first_name="U", welcome_bonus=bonus)
        job = await job_repo.create_job(
            session, user_id=user, chat_id=user, language="en", model_id=model_id,
            values=values or {"prompt": "a fox"}, files=[], confirm_key=key, price=price, credits="4", now=clock(),
        )
        await session.commit()
        assert job is not None
        return job.id


async def state_of(sessionmaker, job_id: int) -> Job:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        job = await job_repo.get_job(session, job_id)
        assert job is not None
        return job


async def money(sessionmaker, user: int = USER) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        return await wallet.get_balance(session, user)


async def run_until(engine: Engine, clock: Clock, sessionmaker, job_id: int, states: tuple[str, ...],  # type: ignore[no-untyped-def]
                    step: float = 30, limit: int = 100) -> Job:
    """Tick, moving the clock `step` seconds between ticks, until the job is in one of `states`."""
    for _ in range(limit):
        await engine.tick()
        job = await state_of(sessionmaker, job_id)
        if job.state in states:
            return job
        clock.advance(step)
    raise AssertionError(f"job stayed {job.state}")
