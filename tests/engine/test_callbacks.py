"""KIE callbacks end to end: the real emulator sends (signed) callbacks to the bot's web app, the engine runs its own
loop. KIE calls are counted by the emulator; a 60 s task is played 30 times faster (emulator timings and polling
intervals alike), which leaves the number of calls unchanged. Nothing here asserts on durations."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from kiebot.config import Settings
from kiebot.engine import Engine
from kiebot.kie.client import KieClient
from kiebot.kie.emulator import EmulatorTimings, RunningEmulator, sign_headers, start_emulator
from kiebot.store import jobs as job_repo
from kiebot.store.models import JobState
from kiebot.web import WebServer, build_web_app, start_web
from tests.engine.kit import CATALOG, Clock, RecordingNotifier, ScriptedKie, make_engine, money, new_job, state_of

KEY = "kie-key"
HMAC = "webhook-secret"
SPEEDUP = 30.0
# 0.3 + 0.1 + 0.4 + 1.2 = 2 s: a 60 s task at SPEEDUP.
SIXTY_SECONDS = EmulatorTimings(null_record_s=0.3, wait_s=0.1, queue_s=0.4, generate_s=1.2)
NOWHERE = "http://127.0.0.1:9"  # nothing listens there: every callback is lost


class Relay:
    """Stands between the web app and the engine (the web app starts first: its port is the public URL)."""

    def __init__(self) -> None:
        self.target: Any = None
        self.outcomes: list[str] = []

    async def receive(self, task_id: str, job_id: int | None) -> str:
        outcome = await self.target.receive(task_id, job_id)
        self.outcomes.append(str(outcome))
        return outcome


@dataclass
class Live:
    engine: Engine
    emulator: RunningEmulator
    web: WebServer
    relay: Relay
    notifier: RecordingNotifier

    def kie_calls(self) -> int:
        return sum(self.emulator.state.calls.values())

    async def until_settled(self, sessionmaker, job_id: int) -> Any:  # type: ignore[no-untyped-def]
        for _ in range(600):  # a guard against hanging, not a measurement
            job = await state_of(sessionmaker, job_id)
            if job.state in (JobState.DONE, JobState.FAILED):
                return job
            await asyncio.sleep(0.05)
        raise AssertionError(f"job {job_id} stayed {job.state}")

    async def callback_seen(self) -> list[str]:
        """What the engine made of the callbacks that passed the signature check. The callback may come after a
        fallback poll found the result (then it is ignored): both are fine."""
        for _ in range(200):
            if self.relay.outcomes:
                return self.relay.outcomes
            await asyncio.sleep(0.05)
        raise AssertionError("no callback got through")


@contextlib.asynccontextmanager
async def live(sessionmaker, *, public: str | None, emulator_key: str | None = None,  # type: ignore[no-untyped-def]
               web_key: str | None = None) -> AsyncIterator[Live]:
    emulator = await start_emulator(api_key=KEY, timings=SIXTY_SECONDS, webhook_hmac_key=emulator_key)
    relay = Relay()
    web = await start_web(build_web_app(relay, hmac_key=web_key), "127.0.0.1", 0)
    kie = KieClient(emulator.url, emulator.url, KEY, backoff_base=0.01)
    settings = Settings(_env_file=None, public_url=web.url if public == "web" else public,
                        kie_poll_speedup=SPEEDUP, worker_interval=0.02, max_active_per_user=3)
    notifier = RecordingNotifier()
    engine = Engine(sessionmaker=sessionmaker, kie=kie, catalog=CATALOG, notifier=notifier, settings=settings)
    relay.target = engine.callbacks
    stop = asyncio.Event()
    worker = asyncio.create_task(engine.run(stop))
    try:
        yield Live(engine, emulator, web, relay, notifier)
    finally:
        stop.set()
        await worker
        await web.stop()
        await kie.close()
        await emulator.close()


async def post_callback(url: str, job_id: int, task_id: str, headers: dict[str, str] | None = None) -> int:
    body = {"code": 200, "msg": "Playground task completed successfully.",
            "data": {"taskId": task_id, "state": "success", "resultJson": '{"resultUrls": []}'}}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/kie/callback?job={job_id}", json=body, headers=headers or {}) as response:
            return response.status


async def test_signed_callbacks_deliver_with_at_most_three_kie_calls(db_sessionmaker) -> None:
    async with live(db_sessionmaker, public="web", emulator_key=HMAC, web_key=HMAC) as stack:
        job_id = await new_job(db_sessionmaker, Clock())
        job = await stack.until_settled(db_sessionmaker, job_id)
        assert job.state == JobState.DONE and job.charged == 8
        assert await stack.callback_seen() in (["due"], ["ignored"])
        assert stack.kie_calls() <= 3, dict(stack.emulator.state.calls)
        # KIE may send a callback twice: the duplicate finds the job settled and changes nothing.
        for _ in range(2):
            assert await post_callback(stack.web.url, job_id, job.kie_task_id, sign_headers(HMAC, job.kie_task_id)) == 200
        assert stack.relay.outcomes[-2:] == ["ignored", "ignored"]
        assert len(stack.notifier.delivered) == 1 and await money(db_sessionmaker) == (92, 0)


async def test_unsigned_callbacks_are_taken_when_no_key_is_set(db_sessionmaker) -> None:
    async with live(db_sessionmaker, public="web") as stack:
        job_id = await new_job(db_sessionmaker, Clock())
        job = await stack.until_settled(db_sessionmaker, job_id)
        assert job.state == JobState.DONE and await stack.callback_seen() in (["due"], ["ignored"])
        assert stack.kie_calls() <= 3, dict(stack.emulator.state.calls)


async def test_polling_alone_costs_at_most_15_kie_calls_for_a_60_s_task(db_sessionmaker) -> None:
    async with live(db_sessionmaker, public=None) as stack:
        job_id = await new_job(db_sessionmaker, Clock())
        job = await stack.until_settled(db_sessionmaker, job_id)
        assert job.state == JobState.DONE and stack.relay.outcomes == []
        assert stack.kie_calls() <= 15, dict(stack.emulator.state.calls)
        assert stack.emulator.state.calls["createTask"] == 1


async def test_when_every_callback_is_lost_polling_still_delivers(db_sessionmaker) -> None:
    async with live(db_sessionmaker, public=NOWHERE) as stack:
        job_id = await new_job(db_sessionmaker, Clock())
        job = await stack.until_settled(db_sessionmaker, job_id)
        assert job.state == JobState.DONE and job.charged == 8
        assert stack.notifier.delivered == [(job_id, job.result["urls"])]
        [task] = stack.emulator.state.tasks.values()
        assert task.body["callBackUrl"] == f"{NOWHERE}/kie/callback?job={job_id}"


async def test_a_forged_callback_is_refused_and_changes_nothing(db_sessionmaker) -> None:
    clock = Clock()
    engine = make_engine(db_sessionmaker, ScriptedKie(), RecordingNotifier(), clock, public_url="https://b.example")
    job_id = await new_job(db_sessionmaker, clock)
    await engine.tick()  # running, next look a minute away (callbacks expected)
    before = await state_of(db_sessionmaker, job_id)
    assert before.next_check_at - clock() == timedelta(seconds=60)
    web = await start_web(build_web_app(engine.callbacks, hmac_key=HMAC), "127.0.0.1", 0)
    try:
        now = int(datetime.now(UTC).timestamp())
        forged = [{}, {"X-Webhook-Timestamp": str(now), "X-Webhook-Signature": "AAAA"},
                  sign_headers("another key", "task-1", now), sign_headers(HMAC, "task-2", now)]
        for headers in forged:
            assert await post_callback(web.url, job_id, "task-1", headers) == 401
        assert (await state_of(db_sessionmaker, job_id)).next_check_at == before.next_check_at
        clock.advance(5)
        assert await post_callback(web.url, job_id, "task-1", sign_headers(HMAC, "task-1", now)) == 200
        assert (await state_of(db_sessionmaker, job_id)).next_check_at == clock()  # due now: a hint, no more
        assert (await state_of(db_sessionmaker, job_id)).state == JobState.RUNNING
    finally:
        await web.stop()


async def test_the_web_app_answers_health_and_refuses_bodies_without_a_task() -> None:
    web = await start_web(build_web_app(Relay()), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{web.url}/health") as response:
                assert response.status == 200 and await response.text() == "ok"
            for body in (b"not json", b"[]", b'{"data": {"state": "success"}}'):
                async with http.post(f"{web.url}/kie/callback?job=1", data=body) as response:
                    assert response.status == 400
    finally:
        await web.stop()


@pytest.mark.parametrize("body", [{"data": {"task_id": "t-9"}}, {"taskId": "t-9"}, {"data": {"taskId": "t-9"}}])
async def test_the_task_id_is_read_from_either_spelling(body: dict[str, Any]) -> None:
    from kiebot.web import _task_id

    assert _task_id(body) == "t-9"


async def test_a_running_job_made_due_by_a_callback_is_the_only_change(db_sessionmaker) -> None:
    clock = Clock()
    engine = make_engine(db_sessionmaker, ScriptedKie(), RecordingNotifier(), clock, public_url="https://b.example")
    job_id = await new_job(db_sessionmaker, clock)
    await engine.tick()
    async with db_sessionmaker() as session:
        assert await job_repo.make_due(session, "task-1", clock()) == job_id
        assert await job_repo.make_due(session, "task-unknown", clock()) is None
        await session.commit()


async def test_a_callback_during_a_poll_is_not_lost(db_sessionmaker) -> None:
    clock, kie = Clock(), ScriptedKie()
    engine = make_engine(db_sessionmaker, kie, RecordingNotifier(), clock, public_url="https://b.example")
    job_id = await new_job(db_sessionmaker, clock)
    await engine.tick()
    clock.advance(60)
    kie.poll_gate = asyncio.Event()
    step = asyncio.create_task(engine.tick())  # polls: the task is still generating...
    while kie.polls == 0:
        await asyncio.sleep(0.01)
    clock.advance(1)
    assert await engine.callbacks.receive("task-1", job_id) == "due"  # ...and finishes meanwhile
    kie.poll_gate.set()
    await step
    assert (await state_of(db_sessionmaker, job_id)).next_check_at == clock()  # still due, not a minute away
