"""Two replicas of `kiebot run` serve one bot, as an operator runs them: separate processes on one fresh PostgreSQL
database and one Redis, one webhook URL in front of both (a round-robin proxy standing in for the load balancer),
the KIE emulator enforcing KIE's rate limits and the fake Telegram enforcing Telegram's.

A burst of users each confirm a generation at the same moment; once every task is at KIE one replica is killed
(SIGKILL: no clean stop). The other takes over its jobs when their leases run out. Every generation must then have
been created once at KIE, delivered once and charged once, and neither KIE nor Telegram may have answered 429: the
two replicas together kept within one account's limits (which are lowered here so a burst of 20 users reaches them).
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from kiebot.kie.emulator import EmulatorTimings, RunningEmulator, start_emulator
from kiebot.store import db
from kiebot.store.models import Job, JobState, LedgerEntry, LedgerKind
from tests.e2e.conftest import KIE_KEY, TOKEN
from tests.e2e.journey import Journey
from tests.fakes import FakeTelegram, FakeUser, FloodLimits
from tests.ledger_invariants import assert_ledger_invariants
from tests.store_fixtures import fresh_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(360)]

USERS = 20
PRICE = 8  # Nano Banana: 4 credits × markup 2
SECRET = "replicas-webhook-secret_0123456789"
WEBHOOK_PATH = "/telegram/webhook"
# The account's limits as the emulator and the fake Telegram enforce them, lowered so that 20 users in a burst reach
# them, and what the replicas are told: a little less, for the time a call takes to arrive (the limits count
# arrivals, the replicas count departures). Two replicas each keeping to that alone would go well over.
KIE_LIMITS = {"createTask": (20, 10.0), "recordInfo": (8, 1.0)}
KIE_POLLS_PER_SECOND = 5
TELEGRAM_GLOBAL = 15
TELEGRAM_GLOBAL_RATE = 10
LEASE_SECONDS = 10  # 25 by default: a shorter lease keeps the takeover within this test's time


@dataclass
class Replica:
    """One `kiebot run` process and everything it printed."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def log(self) -> str:
        return "".join(self.output)

    def tasks_created(self) -> int:
        return self.log.count("KIE created task")

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.output.append(line.decode(errors="replace"))


class RoundRobin:
    """The load balancer: each webhook call goes to the next replica; a replica that refuses the connection (it
    is dead) is skipped, as nginx's `proxy_next_upstream error` does."""

    def __init__(self, port: int, backends: list[int]) -> None:
        self.port = port
        self.backends = itertools.cycle(backends)
        self.count = len(backends)
        self.http: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.http is not None:
            await self.http.close()

    async def forward(self, request: web.Request) -> web.Response:
        assert self.http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        for _ in range(self.count):
            url = f"http://127.0.0.1:{next(self.backends)}{request.path_qs}"
            try:
                async with self.http.request(request.method, url, data=body, headers=headers) as answer:
                    return web.Response(status=answer.status, body=await answer.read(),
                                        content_type=answer.content_type)
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502)


def free_ports(count: int) -> list[int]:
    """Distinct ports free right now (the webhook URL and the replicas' ports must be known before they start)."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def replica_env(tg: FakeTelegram, kie: RunningEmulator, database_url: str, redis_url: str, port: int,
                webhook_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "KIE_API_KEY", "DATABASE_URL", "REDIS_URL")}
    env.update(
        BOT_TOKEN=TOKEN, KIE_API_KEY=KIE_KEY, TELEGRAM_API_BASE=tg.base_url, KIE_API_BASE=kie.url,
        KIE_UPLOAD_BASE=kie.url, DATABASE_URL=database_url, REDIS_URL=redis_url,
        WEB_HOST="127.0.0.1", WEB_PORT=str(port), WEBHOOK_URL=webhook_url, WEBHOOK_SECRET=SECRET,
        KIE_CREATE_PER_10S=str(KIE_LIMITS["createTask"][0]), KIE_POLLS_PER_SECOND=str(KIE_POLLS_PER_SECOND),
        TELEGRAM_GLOBAL_RATE=str(TELEGRAM_GLOBAL_RATE), JOB_LEASE_SECONDS=str(LEASE_SECONDS),
        KIE_POLL_SPEEDUP="20", WORKER_INTERVAL="0.1", STATUS_EDIT_INTERVAL="0.5", LOG_LEVEL="INFO",
    )
    return env


async def start_replica(name: str, cwd: Path, env: dict[str, str]) -> Replica:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "kiebot", "run", cwd=cwd, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    replica = Replica(name, int(env["WEB_PORT"]), process)
    replica.reader = asyncio.create_task(replica.read())
    return replica


async def wait_until_serving(replica: Replica, http: aiohttp.ClientSession, timeout: float = 150) -> None:
    """Its web server answers (the webhook is served there)."""
    async def serving() -> None:
        while True:
            assert replica.process.returncode is None, f"{replica.name} exited:\n{replica.log}"
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{replica.port}/health") as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.2)

    await asyncio.wait_for(serving(), timeout)


async def stop(replica: Replica) -> None:
    if replica.process.returncode is None:
        replica.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(replica.process.wait(), 30)
    if replica.process.returncode is None:
        replica.process.kill()
        await replica.process.wait()
    if replica.reader is not None:
        await replica.reader


@contextlib.asynccontextmanager
async def shared_redis() -> AsyncIterator[str]:
    """TEST_REDIS_URL, without the bot's keys (`kiebot:*`) before and after: a cached user or a rate window left
    by an earlier run must not leak into this one."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    from redis.asyncio import Redis

    redis = Redis.from_url(url)

    async def forget() -> None:
        keys = [key async for key in redis.scan_iter(match="kiebot:*")]
        if keys:
            await redis.delete(*keys)

    try:
        await forget()
        yield url
        await forget()
    finally:
        await redis.aclose()


@dataclass
class Users:
    """What the journeys need of a stack: the fake Telegram."""

    tg: FakeTelegram


async def up_to_confirmation(stack: Users, user: FakeUser) -> Journey:
    j = Journey(stack, user)  # type: ignore[arg-type]
    await j.open_model("google-nano-banana")
    await j.answer_text(f"A lighthouse, picture {user.id}")
    await j.defaults_for_the_rest()
    return j


async def test_two_replicas_share_the_limits_and_survive_one_killed(tmp_path: Path) -> None:
    users = [FakeUser(7000 + n, f"User{n}", "en") for n in range(USERS)]
    timings = EmulatorTimings(null_record_s=0.2, queue_s=0.2, generate_s=4.0)
    flood = FloodLimits(global_rate=TELEGRAM_GLOBAL, global_burst=TELEGRAM_GLOBAL)
    async with (fresh_postgres_database() as database_url, shared_redis() as redis_url,
                FakeTelegram(token=TOKEN, flood=flood) as tg, aiohttp.ClientSession() as http):
        await db.migrate(database_url)  # once, before the replicas start (`kiebot migrate`)
        kie = await start_emulator(api_key=KIE_KEY, timings=timings, rate_limits=KIE_LIMITS)
        proxy_port, *ports = free_ports(3)
        proxy = RoundRobin(proxy_port, ports)
        replicas: list[Replica] = []
        try:
            await proxy.start()
            webhook_url = f"http://127.0.0.1:{proxy.port}{WEBHOOK_PATH}"
            for n, port in enumerate(ports):
                env = replica_env(tg, kie, database_url, redis_url, port, webhook_url)
                replicas.append(await start_replica(f"replica-{n}", tmp_path, env))
            await asyncio.gather(*(wait_until_serving(r, http) for r in replicas))
            await tg.wait_for(lambda: tg.webhook_url == webhook_url, timeout=30)

            stack = Users(tg)
            journeys = await asyncio.gather(*(up_to_confirmation(stack, user) for user in users))
            await asyncio.gather(*(j.confirm(PRICE) for j in journeys))  # the burst: everyone at once

            # Once every job holds its KIE task (none can be done yet: generating takes longer), kill the replica
            # that created more of them. Killed mid-createTask a job would rightly fail: KIE's answer is lost.
            await wait_for_tasks_attached(database_url, USERS, timeout=30)
            victim = max(replicas, key=Replica.tasks_created)
            assert victim.tasks_created() > 0
            victim.process.send_signal(signal.SIGKILL)
            await victim.process.wait()

            # Its jobs are taken over within the lease; every user gets the result.
            done = await asyncio.gather(*(j.result(timeout=LEASE_SECONDS + 40) for j in journeys))
            assert len(done) == USERS
            survivor = next(r for r in replicas if r is not victim)
            survivor_log = survivor.log
        finally:
            for replica in replicas:
                await stop(replica)
                (tmp_path / f"{replica.name}.log").write_text(replica.log)  # kept by pytest for a look after a failure
            await proxy.close()
            throttled = (await kie_calls(http, kie))["throttled"]
            prompts = [task.input.get("prompt") for task in kie.state.tasks.values()]
            await kie.close()

        await check_once_each(database_url, prompts, tg, users)
        assert tg.count_429 == 0, "Telegram answered 429: the replicas together went over its limits"
        assert throttled == {}, f"KIE answered 429: {throttled}"
        assert survivor.process.returncode == 0, survivor.log
        assert "Traceback" not in survivor_log, survivor_log


async def wait_for_tasks_attached(database_url: str, count: int, timeout: float) -> None:
    engine = db.create_engine(database_url)

    async def attached() -> None:
        while True:
            async with engine.connect() as conn:
                held = (await conn.execute(select(func.count()).where(Job.kie_task_id.is_not(None)))).scalar_one()
            if held >= count:
                return
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(attached(), timeout)
    finally:
        await engine.dispose()


async def kie_calls(http: aiohttp.ClientSession, kie: RunningEmulator) -> dict[str, Any]:
    async with http.get(f"{kie.url}/_emulator/calls") as answer:
        return await answer.json()


async def check_once_each(database_url: str, prompts: list[str], tg: FakeTelegram, users: list[FakeUser]) -> None:
    """Created once at KIE (`prompts`: of the tasks KIE made), delivered once, charged once: per user, and in the
    ledger as a whole."""
    assert sorted(prompts) == sorted(f"A lighthouse, picture {user.id}" for user in users)  # one task each, none twice
    for user in users:
        photos = [m for m in tg.messages(user.id) if m.media_type == "photo"]
        assert len(photos) == 1, f"user {user.id} got {len(photos)} results"
    engine = db.create_engine(database_url)
    try:
        async with db.session_factory(engine)() as session:
            states = dict((await session.execute(select(Job.state, func.count()).group_by(Job.state))).all())
            charges = (await session.execute(
                select(LedgerEntry.user_id, func.count()).where(LedgerEntry.kind == LedgerKind.CHARGE)
                .group_by(LedgerEntry.user_id))).all()
            await assert_ledger_invariants(session)
    finally:
        await engine.dispose()
    assert states == {JobState.DONE: USERS}
    assert sorted(charges) == sorted((user.id, 1) for user in users)
