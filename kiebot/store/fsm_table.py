"""The `fsm` table's hot statements (read a row, write a row, delete a row) run on the database driver itself.

Every update of every user reads its FSM row and most write it back, so these statements set the bot's rate.
Through SQLAlchemy's async layer a point read cost ~1 ms of CPU on SQLite (five hops to aiosqlite's thread: cursor,
execute, fetch, close, and the pool's rollback at check-in) and ~0.6 ms on PostgreSQL; on the driver it is one hop
(~0.1 ms) or one round trip (~0.25 ms) — measured in bench/README.md. Each statement stands alone (no transaction:
the drivers run in autocommit here), so it is atomic by itself and never holds a lock across anything else.

The connections are checked out of the application's SQLAlchemy pool once and kept until `close()`, so they carry
its connect settings (SQLite's pragmas, a PostgreSQL `search_path`) and count against its size. One that fails with
a connection error is dropped and the statement is run once more on a fresh one (all three are idempotent).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Kept connections: SQLite has one writer at a time anyway (and reads never wait under WAL); PostgreSQL serves
# concurrent users' statements side by side.
CONNECTIONS = {"sqlite": 2, "postgresql": 4}

_SQL = {
    "sqlite": {
        "read": "SELECT state, data FROM fsm WHERE key = ?",
        "write": "INSERT INTO fsm (key, state, data, updated_at) VALUES (?, ?, ?, CURRENT_TIMESTAMP) "
                 "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data, "
                 "updated_at = excluded.updated_at",
        "delete": "DELETE FROM fsm WHERE key = ?",
    },
    "postgresql": {
        "read": "SELECT state, data FROM fsm WHERE key = $1",
        "write": "INSERT INTO fsm (key, state, data, updated_at) VALUES ($1, $2, $3, CURRENT_TIMESTAMP) "
                 "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data, "
                 "updated_at = excluded.updated_at",
        "delete": "DELETE FROM fsm WHERE key = $1",
    },
}


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, ConnectionError]
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return tuple(errors)
    # InternalClientError: the protocol was caught mid-way (a server ending the connection while a statement starts).
    return (*errors, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError)


def _closed(driver: Any) -> bool:
    """asyncpg knows when its connection is gone (aiosqlite's never goes while the process lives)."""
    is_closed = getattr(driver, "is_closed", None)
    return bool(is_closed()) if callable(is_closed) else False


class FsmTable:
    """`read(key)` → (state, data) or None; `write(key, state, data)` (an upsert); `delete(key)`.

    `observe`, when set, hears the first word of each statement run (tests and the bench count them)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        if self.dialect not in _SQL:
            raise NotImplementedError(f"unsupported database dialect {self.dialect!r}")
        self.sql = _SQL[self.dialect]
        self.observe: Callable[[str], None] | None = None
        self._size = CONNECTIONS[self.dialect]
        self._idle: list[tuple[AsyncConnection, Any]] = []
        self._open = 0
        self._freed = asyncio.Condition()
        self._errors = _connection_errors()

    async def read(self, key: str) -> tuple[str | None, dict[str, Any]] | None:
        rows = await self._run("SELECT", self.sql["read"], (key,), fetch=True)
        if not rows:
            return None
        state, data = rows[0][0], rows[0][1]
        if isinstance(data, str | bytes):
            data = json.loads(data)
        return state, dict(data or {})

    async def write(self, key: str, state: str | None, data: dict[str, Any]) -> None:
        await self._run("INSERT", self.sql["write"], (key, state, json.dumps(data)))

    async def delete(self, key: str) -> None:
        await self._run("DELETE", self.sql["delete"], (key,))

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            self._open -= 1
            await conn.close()

    # ----------------------------------------------------------------- statements

    async def _run(self, word: str, sql: str, params: tuple[Any, ...], *, fetch: bool = False) -> Any:
        if self.observe is not None:
            self.observe(word)
        for attempt in (1, 2):
            conn, driver = await self._take()
            try:
                result = await self._execute(driver, sql, params, fetch)
            except Exception as exc:
                if not (isinstance(exc, self._errors) or _closed(driver)):
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

    async def _execute(self, driver: Any, sql: str, params: tuple[Any, ...], fetch: bool) -> Any:
        if self.dialect == "sqlite":  # aiosqlite: one hop to its thread, the cursor made and closed there
            return await driver.execute_fetchall(sql, params)
        run: Callable[..., Awaitable[Any]] = driver.fetch if fetch else driver.execute  # asyncpg: one round trip
        return await run(sql, *params)

    # ----------------------------------------------------------------- connections

    async def _take(self) -> tuple[AsyncConnection, Any]:
        async with self._freed:
            while not self._idle and self._open >= self._size:
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
