"""The `fsm` table's hot statements (read a row, write a row, delete a row), below SQLAlchemy.

Every update of every user reads its FSM row and most write it back, so these statements set the bot's rate.
Through SQLAlchemy's async layer a point read cost ~1 ms of CPU on SQLite (five hops to aiosqlite's thread) and
~0.6 ms on PostgreSQL (the pool's checkout, and its rollback at check-in). Here each statement stands alone, in autocommit, so it is atomic by
itself and never holds a lock across anything else:

- PostgreSQL (`PostgresFsmTable`): one asyncpg round trip on a few connections checked out of the application's
  pool once and kept until `close()` (they carry its `search_path` and count against its size). One that fails with
  a connection error is dropped and the statement is run once more on a fresh one (all three are idempotent).
- SQLite (`SqliteFsmTable`): one statement on the database file's own `sqlite3` connection, run right in the event
  loop: a point read or upsert takes tens of microseconds, less than handing it to a thread and back (and under
  load that thread also waits for the GIL: `bench/handler_cpu.py` measured 3.9–4.1 → 2.7–3.7 ms per wizard step).
  It never waits in the loop: under WAL a read never blocks, and a write that finds another connection writing
  (SQLITE_BUSY, its busy timeout is 0) sleeps asynchronously and tries again, as SQLite's own busy handler would.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kiebot.store.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_file

# Kept PostgreSQL connections: concurrent users' statements run side by side.
PG_CONNECTIONS = 4
# A PostgreSQL connection that fails with these is gone. InternalClientError: the protocol was caught mid-way (a
# server ending the connection while a statement starts).
_CONNECTION_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                      asyncpg.exceptions.InternalClientError)

_READ = "SELECT state, data FROM fsm WHERE key = {0}"
_WRITE = ("INSERT INTO fsm (key, state, data, updated_at) VALUES ({0}, {1}, {2}, CURRENT_TIMESTAMP) "
          "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data, "
          "updated_at = excluded.updated_at")
_DELETE = "DELETE FROM fsm WHERE key = {0}"


def fsm_table(engine: AsyncEngine) -> FsmTable:
    """The table's statements for `engine`'s database."""
    if engine.dialect.name == "postgresql":
        return PostgresFsmTable(engine)
    if engine.dialect.name == "sqlite":
        return SqliteFsmTable(engine)
    raise NotImplementedError(f"unsupported database dialect {engine.dialect.name!r}")


class FsmTable:
    """`read(key)` → (state, data) or None; `write(key, state, data)` (an upsert); `delete(key)`.

    `observe`, when set, hears the first word of each statement run (tests and the bench count them)."""

    placeholders: tuple[str, str, str]

    def __init__(self) -> None:
        self.observe: Callable[[str], None] | None = None
        self._read, self._write, self._delete = (sql.format(*self.placeholders) for sql in (_READ, _WRITE, _DELETE))

    async def read(self, key: str) -> tuple[str | None, dict[str, Any]] | None:
        rows = await self._statement("SELECT", self._read, (key,), fetch=True)
        if not rows:
            return None
        state, data = rows[0][0], rows[0][1]
        if isinstance(data, str | bytes):
            data = json.loads(data)
        return state, dict(data or {})

    async def write(self, key: str, state: str | None, data: dict[str, Any]) -> None:
        await self._statement("INSERT", self._write, (key, state, json.dumps(data)))

    async def delete(self, key: str) -> None:
        await self._statement("DELETE", self._delete, (key,))

    async def close(self) -> None:
        raise NotImplementedError

    async def _statement(self, word: str, sql: str, params: tuple[Any, ...], *, fetch: bool = False) -> Any:
        if self.observe is not None:
            self.observe(word)
        return await self._run(sql, params, fetch)

    async def _run(self, sql: str, params: tuple[Any, ...], fetch: bool) -> Any:
        raise NotImplementedError


class SqliteFsmTable(FsmTable):
    placeholders = ("?", "?", "?")
    # Between tries of a write that found the database locked (doubling), and how long to keep trying.
    FIRST_RETRY_S, LAST_RETRY_S = 0.001, 0.05

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        path = sqlite_file(engine.url)
        if path is None:
            raise NotImplementedError("the fsm table needs a SQLite database file (not an in-memory database)")
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            # Autocommit; the file is already in WAL mode (the engine's connections set it, and it persists).
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 0")
            db.execute("PRAGMA synchronous = NORMAL")
            self._db = db
        return self._db

    async def _run(self, sql: str, params: tuple[Any, ...], fetch: bool) -> Any:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000
        pause = self.FIRST_RETRY_S
        while True:
            try:
                with contextlib.closing(self._connection().execute(sql, params)) as cursor:
                    return cursor.fetchall()
            except sqlite3.OperationalError as exc:
                # The primary code (the low byte): SQLite also says SQLITE_BUSY_RECOVERY, _SNAPSHOT… when it is busy.
                busy = (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or loop.time() > give_up:
                    raise
            await asyncio.sleep(pause)
            pause = min(2 * pause, self.LAST_RETRY_S)

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()


class PostgresFsmTable(FsmTable):
    placeholders = ("$1", "$2", "$3")

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self.engine = engine
        self._idle: list[tuple[AsyncConnection, Any]] = []
        self._open = 0
        self._freed = asyncio.Condition()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            self._open -= 1
            await conn.close()

    async def _run(self, sql: str, params: tuple[Any, ...], fetch: bool) -> Any:
        for attempt in (1, 2):
            conn, driver = await self._take()
            try:
                run: Callable[..., Awaitable[Any]] = driver.fetch if fetch else driver.execute
                result = await run(sql, *params)
            except Exception as exc:
                if not (isinstance(exc, _CONNECTION_ERRORS) or driver.is_closed()):
                    await self._give_back(conn, driver)  # the statement failed, the connection is fine
                    raise
                await self._drop(conn)
                if attempt == 2:
                    raise
                continue
            except BaseException:  # cancelled half-way: the connection's state is unknown
                await self._drop(conn)
                raise
            await self._give_back(conn, driver)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    # ----------------------------------------------------------------- connections

    async def _take(self) -> tuple[AsyncConnection, Any]:
        async with self._freed:
            while not self._idle and self._open >= PG_CONNECTIONS:
                await self._freed.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            conn = await self.engine.connect()
            raw = await conn.get_raw_connection()
            return conn, raw.driver_connection
        except BaseException:
            await self._release_slot()
            raise

    async def _give_back(self, conn: AsyncConnection, driver: Any) -> None:
        async with self._freed:
            self._idle.append((conn, driver))
            self._freed.notify()

    async def _drop(self, conn: AsyncConnection) -> None:
        with contextlib.suppress(Exception):  # the connection is broken: closing it may fail as well
            await conn.invalidate()
            await conn.close()
        await self._release_slot()

    async def _release_slot(self) -> None:
        async with self._freed:
            self._open -= 1
            self._freed.notify()
