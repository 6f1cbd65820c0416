"""Replicas start after one `kiebot migrate`; should two run at once anyway (two start scripts, say), the second
waits for the first (an advisory lock on PostgreSQL) and then finds nothing to do."""
from __future__ import annotations

import asyncio
import os
import sys

import pytest
from sqlalchemy import text

from kiebot.store.db import create_engine
from tests.store_fixtures import fresh_postgres_database


async def migrate_in_a_process(url: str) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": url}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "kiebot", "migrate", env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode()


@pytest.mark.postgres
async def test_two_migrations_at_once_on_postgresql_both_succeed() -> None:
    async with fresh_postgres_database() as url:
        results = await asyncio.gather(migrate_in_a_process(url), migrate_in_a_process(url))
        assert [code for code, _ in results] == [0, 0], results
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
                jobs = (await conn.execute(text("SELECT count(*) FROM jobs"))).scalar_one()
        finally:
            await engine.dispose()
        assert len(versions) == 1 and jobs == 0


async def test_run_refuses_a_database_that_was_not_migrated(tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'new.db'}",
           "BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0", "KIE_API_KEY": "kie-key-for-this-test-0123456789",
           "TELEGRAM_API_BASE": "http://127.0.0.1:1", "KIE_API_BASE": "http://127.0.0.1:1"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "kiebot", "run", env=env, cwd=tmp_path,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode != 0
    assert "run `kiebot migrate` first" in out.decode()
