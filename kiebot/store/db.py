"""Engine, sessions and migrations.

SQLite: the parent directory of a file database is created, the database runs in WAL mode with `busy_timeout` 30 s
and `foreign_keys=ON`, and every transaction of a writer session starts with `BEGIN IMMEDIATE`: writers queue up on
the busy timeout at BEGIN instead of failing with "database is locked" when a read transaction later tries to write.
Sessions of `reader_factory` start with a plain (deferred) BEGIN and never take the write lock: under WAL they read
while a writer writes. SQLAlchemy emits the BEGIN itself (sqlite3's own transaction control is switched off), which
also makes SAVEPOINTs work.
PostgreSQL: a pooled connection idle for more than PING_IDLE_SECONDS is pinged before use, and replaced if the ping
fails (SQLAlchemy's `pool_pre_ping` pings on every checkout: with asyncpg three round trips per transaction).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from kiebot.store.events import OBSERVER, ChangeObserver

PACKAGE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = PACKAGE_DIR / "alembic.ini"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
# Writers queue on the lock this long (transactions are short: none is held across network I/O).
SQLITE_BUSY_TIMEOUT_MS = 30000
# A connection used this recently is taken as alive; if the server went away meanwhile, the statement fails, SQLAlchemy
# drops the pool's connections, and the next unit of work gets fresh ones.
PING_IDLE_SECONDS = 10.0
READ_ONLY = "kiebot_read_only"  # execution option of reader sessions


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite `url`; None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; extra keyword arguments go to `create_async_engine` (e.g. `connect_args`)."""
    if _is_sqlite(url):
        path = sqlite_file(url)
        if path is not None:
            path.expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        _setup_sqlite(engine, wal=path is not None)
        return engine
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(dbapi_connection: Any, connection_record: Any) -> None:
        connection_record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
        idle_since = connection_record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= PING_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool drops this connection and checks out another one
            raise DisconnectionError(f"stale pooled connection: {type(exc).__name__}") from exc


def _setup_sqlite(engine: AsyncEngine, *, wal: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy emit BEGIN (see `_on_begin`); the driver would otherwise skip it for SELECT and SAVEPOINT.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def dialect_insert(session: AsyncSession | AsyncConnection | AsyncEngine) -> Any:
    """`insert` of the session's dialect, which has `on_conflict_do_nothing` / `on_conflict_do_update` (upserts)."""
    bind = session.get_bind() if isinstance(session, AsyncSession) else session
    name = bind.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"unsupported database dialect {name!r}")


def session_factory(engine: AsyncEngine, info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


def reader_factory(engine: AsyncEngine, info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads only: on SQLite they never wait for (or block) the one writer."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False, info=info)


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration pointing at the migrations shipped inside the package."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.attributes["url"] = url
    return config


def _upgrade(config: Config, revision: str) -> None:
    command.upgrade(config, revision)


async def migrate(url: str | AsyncEngine, revision: str = "head") -> None:
    """Bring the database up to `revision` (Alembic `upgrade head`).

    `url` may also be an engine: its connection settings (e.g. a PostgreSQL `search_path`) are then used.
    """
    if isinstance(url, AsyncEngine):
        async with url.begin() as conn:
            await conn.run_sync(_upgrade_on_connection, revision)
        return
    if _is_sqlite(url):
        path = sqlite_file(url)
        if path is not None:
            path.expanduser().parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(_upgrade, alembic_config(url), revision)


async def schema_is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest migration, i.e. `kiebot migrate` has run for this release."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    async with engine.connect() as conn:
        current = await conn.run_sync(lambda sync: set(MigrationContext.configure(sync).get_current_heads()))
    return current == heads


def _upgrade_on_connection(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@dataclass(frozen=True)
class Database:
    """The application's database: `write` sessions (short transactions that may write) and `read` sessions."""

    engine: AsyncEngine
    write: async_sessionmaker[AsyncSession]
    read: async_sessionmaker[AsyncSession]

    @classmethod
    def of(cls, engine: AsyncEngine, observer: ChangeObserver | None = None) -> Database:
        """`observer` (the App's metrics) hears of every change its sessions commit (`store/events.py`)."""
        info = {OBSERVER: observer} if observer is not None else None
        return cls(engine, session_factory(engine, info), reader_factory(engine, info))
