"""Database fixtures for store tests, reusable by the whole team.

Import the fixtures you need into a test module (pytest discovers fixtures imported into the module namespace):

    from tests.store_fixtures import store_db, db_session, db_sessionmaker  # noqa: F401

`store_db` is parametrized: every test using it runs on a migrated SQLite file under tmp_path and, when
TEST_DATABASE_URL is set, on PostgreSQL in a fresh schema of its own (dropped afterwards, so parallel runs and other
tests never see each other's rows). Without TEST_DATABASE_URL the PostgreSQL variant skips with a message.
`sqlite_db` is the SQLite variant alone. Run pytest as `python -m pytest` from the repository root so `tests` imports.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from kiebot.store.db import create_engine, migrate, session_factory

PG_ENV = "TEST_DATABASE_URL"


@dataclass
class StoreDB:
    """A migrated database for one test."""

    kind: str  # "sqlite" | "postgresql"
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    _extra: list[AsyncEngine] = field(default_factory=list)

    def new_engine(self) -> AsyncEngine:
        """Another engine on the same database (e.g. to simulate a restart or a second replica); disposed for you."""
        engine = create_engine(self.url, **self.engine_kwargs)
        self._extra.append(engine)
        return engine

    async def dispose(self) -> None:
        for engine in self._extra:
            await engine.dispose()
        await self.engine.dispose()


_template: Path | None = None


async def _sqlite_db(tmp_path: Path) -> StoreDB:
    """Migrate a template file once per run and copy it: much faster than running Alembic for every test."""
    global _template
    if _template is None or not _template.exists():
        template_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"kiebot-store-template-{uuid.uuid4().hex}"
        template = template_dir / "template.db"
        url = f"sqlite+aiosqlite:///{template}"
        await migrate(url)  # its engine is disposed: the last connection folded the WAL into the file
        assert not Path(f"{template}-wal").exists()
        _template = template
    path = tmp_path / "kiebot.db"
    shutil.copyfile(_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    return StoreDB("sqlite", url, engine, session_factory(engine))


async def _postgres_db() -> tuple[StoreDB, str]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    await _as_admin(url, f'CREATE SCHEMA "{schema}"')
    kwargs = {"connect_args": {"server_settings": {"search_path": schema}}}
    engine = create_engine(url, **kwargs)
    await migrate(engine)
    return StoreDB("postgresql", url, engine, session_factory(engine), kwargs), schema


async def _drop_schema(url: str, schema: str) -> None:
    await _as_admin(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def _as_admin(url: str, statement: str) -> None:
    """Run one statement outside any transaction (CREATE / DROP SCHEMA)."""
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreDB]:
    """A migrated database: SQLite file, and PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        db = await _sqlite_db(tmp_path)
        try:
            yield db
        finally:
            await db.dispose()
        return
    db, schema = await _postgres_db()
    try:
        yield db
    finally:
        await db.dispose()
        await _drop_schema(db.url, schema)


@pytest_asyncio.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[StoreDB]:
    """A migrated SQLite file database only."""
    db = await _sqlite_db(tmp_path)
    try:
        yield db
    finally:
        await db.dispose()


@pytest_asyncio.fixture
async def db_sessionmaker(store_db: StoreDB) -> async_sessionmaker[AsyncSession]:
    return store_db.sessionmaker


@pytest_asyncio.fixture
async def db_session(store_db: StoreDB) -> AsyncIterator[AsyncSession]:
    """One AsyncSession; the test commits when it wants to (rolled back / closed at the end)."""
    async with store_db.sessionmaker() as session:
        yield session


@contextlib.asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database (dropped afterwards), for processes that take only a
    DATABASE_URL (a schema's search_path cannot travel in one). Skips without TEST_DATABASE_URL."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    name = f"kiebot_{uuid.uuid4().hex[:16]}"
    await _as_admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _as_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
