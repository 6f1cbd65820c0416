"""Engine settings and migrations."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from kiebot.store import db
from kiebot.store.db import (
    ALEMBIC_INI,
    MIGRATIONS_DIR,
    SQLITE_BUSY_TIMEOUT_MS,
    alembic_config,
    create_engine,
    migrate,
)
from kiebot.store.models import Base
from tests.store_fixtures import StoreDB, sqlite_db, store_db  # noqa: F401


def _diff(connection):  # type: ignore[no-untyped-def]
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_migrated_schema_matches_models(store_db: StoreDB) -> None:
    async with store_db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert diff == []
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_migrate_is_repeatable_and_creates_the_directory(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/deep/dir/kiebot.db"
    await migrate(url)
    await migrate(url)  # already at head: nothing to do
    assert (tmp_path / "deep" / "dir" / "kiebot.db").exists()
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_sqlite_pragmas(sqlite_db: StoreDB) -> None:
    async with sqlite_db.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS


def test_migrations_ship_inside_the_package() -> None:
    package = Path(__file__).resolve().parents[2] / "kiebot" / "store"
    assert package / "alembic.ini" == ALEMBIC_INI and ALEMBIC_INI.exists()
    assert (MIGRATIONS_DIR / "env.py").exists() and (MIGRATIONS_DIR / "script.py.mako").exists()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").exists()
    assert "sqlite" not in ALEMBIC_INI.read_text().split("[loggers]")[0].replace("DATABASE_URL", "")


async def test_an_idle_connection_the_server_dropped_is_replaced(store_db: StoreDB, monkeypatch) -> None:
    if store_db.kind != "postgresql":
        pytest.skip("pooled server connections: PostgreSQL only")
    async with store_db.engine.connect() as conn:
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
    killer = store_db.new_engine()
    async with killer.connect() as conn:
        await conn.execute(text(f"SELECT pg_terminate_backend({int(pid)})"))
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)  # the pooled connection counts as idle: pinged, found dead
    async with store_db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar() != pid
