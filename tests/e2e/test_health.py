"""GET /healthz of the running bot: 200 when the database, Redis and KIE answer; 503 naming the part that does not
(and never a secret)."""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from kiebot.app import App
from kiebot.health import Health
from kiebot.kie.emulator import RunningEmulator, start_emulator
from kiebot.kie.errors import KieAuthError
from tests.e2e.conftest import KIE_KEY, TOKEN, Stack, make_settings
from tests.fakes import FakeTelegram

REDIS_ENV = "TEST_REDIS_URL"


async def get_healthz(base_url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url}/healthz") as response:
            return response.status, await response.json()


async def test_healthz_is_200_when_every_part_answers(stack: Stack) -> None:
    assert stack.app is not None and stack.app.web is not None
    status, body = await get_healthz(stack.app.web.url)
    assert (status, body) == (200, {"status": "ok", "checks": {"database": "ok", "kie": "ok"}})


@pytest.fixture
async def outside() -> AsyncIterator[tuple[FakeTelegram, RunningEmulator]]:
    async with FakeTelegram(token=TOKEN) as tg:
        kie = await start_emulator(api_key=KIE_KEY)
        try:
            yield tg, kie
        finally:
            await kie.close()


async def serving(app: App) -> str:
    await app.start_web()
    assert app.web is not None
    return app.web.url


@pytest.mark.postgres
async def test_healthz_is_503_when_the_database_is_gone(tmp_path: Path, outside: Any) -> None:
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"kiebot_health_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    app = App(make_settings(tmp_path, *outside, database_url=db_url))
    try:
        url = await serving(app)
        assert (await get_healthz(url))[0] == 200
        async with admin.connect() as conn:  # the database is dropped under the running bot
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        status, body = await get_healthz(url)
        assert status == 503 and body["status"] == "fail"
        assert body["checks"]["kie"] == "ok"
        assert body["checks"]["database"].startswith("unreachable (")
        assert name not in str(body) and KIE_KEY not in str(body)
    finally:
        await app.stop_web()
        await app.close()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_healthz_is_503_when_redis_does_not_answer(tmp_path: Path, outside: Any) -> None:
    app = App(make_settings(tmp_path, *outside, redis_url="redis://127.0.0.1:1/0"))  # nothing listens on port 1
    try:
        status, body = await get_healthz(await serving(app))
        assert status == 503
        assert body["checks"]["database"] == "ok" and body["checks"]["kie"] == "ok"
        assert body["checks"]["redis"].startswith("unreachable (")
    finally:
        await app.stop_web()
        await app.close()


async def test_healthz_says_kie_refused_the_key_and_not_the_key(tmp_path: Path, outside: Any) -> None:
    tg, kie = outside
    app = App(make_settings(tmp_path, tg, kie, kie_api_key="wrong-key-0123456789abcdef"))
    try:
        status, body = await get_healthz(await serving(app))
        assert status == 503
        assert body["checks"]["kie"] == "KIE refused the API key (401)"
        assert "wrong-key" not in str(body)
    finally:
        await app.stop_web()
        await app.close()


class CountingKie:
    def __init__(self) -> None:
        self.calls = 0
        self.refuse = False

    async def credits(self) -> int:
        self.calls += 1
        await asyncio.sleep(0.01)
        if self.refuse:
            raise KieAuthError(401, "bad key")
        return 100


class NoDatabase:
    def read(self) -> Any:
        raise ConnectionError("not needed here")


async def test_kie_is_asked_once_per_few_seconds_however_many_probes_arrive() -> None:
    kie, clock = CountingKie(), [0.0]
    health = Health(NoDatabase(), None, kie, kie_ttl=10.0, clock=lambda: clock[0])  # type: ignore[arg-type]
    reports = await asyncio.gather(*(health.report() for _ in range(20)))
    assert {r["kie"] for r in reports} == {"ok"} and kie.calls == 1
    kie.refuse = True
    clock[0] = 9.0
    assert (await health.report())["kie"] == "ok" and kie.calls == 1  # still the cached outcome
    clock[0] = 10.5
    assert (await health.report())["kie"] == "KIE refused the API key (401)" and kie.calls == 2
