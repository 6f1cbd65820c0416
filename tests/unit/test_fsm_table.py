"""The fsm table's hot statements on the database driver (`store/fsm_table.py`)."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from kiebot.store.db import create_engine
from kiebot.store.fsm_table import PG_CONNECTIONS, PostgresFsmTable, SqliteFsmTable, fsm_table
from tests.store_fixtures import StoreDB, sqlite_db, store_db  # noqa: F401


async def _row(store_db: StoreDB, key: str) -> tuple[str | None, str] | None:
    """The row as another connection of the application's engine sees it: committed, not just written."""
    async with store_db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT state, data FROM fsm WHERE key = :k"), {"k": key})).first()
    return (row[0], row[1]) if row is not None else None


async def test_a_row_is_written_read_and_deleted_each_by_one_committed_statement(store_db: StoreDB) -> None:
    table = fsm_table(store_db.engine)
    seen: list[str] = []
    table.observe = seen.append
    try:
        assert await table.read("k") is None
        data = {"draft": {"values": {"prompt": "Кот в снегу", "n": 2}}, "told": True}
        await table.write("k", "Wizard:form", data)
        assert await table.read("k") == ("Wizard:form", data)
        state, stored = await _row(store_db, "k") or (None, None)
        assert state == "Wizard:form" and stored is not None
        await table.write("k", None, {"only": "data"})  # an upsert: the same key, new values
        assert await table.read("k") == (None, {"only": "data"})
        await table.delete("k")
        assert await table.read("k") is None and await _row(store_db, "k") is None
        assert seen == ["SELECT", "INSERT", "SELECT", "INSERT", "SELECT", "DELETE", "SELECT"]
    finally:
        await table.close()


async def test_concurrent_statements_share_a_few_kept_connections(store_db: StoreDB) -> None:
    table = fsm_table(store_db.engine)
    try:
        await asyncio.gather(*(table.write(f"user:{i}", "S", {"i": i}) for i in range(30)))
        rows = await asyncio.gather(*(table.read(f"user:{i}") for i in range(30)))
        assert rows == [("S", {"i": i}) for i in range(30)]
        if isinstance(table, PostgresFsmTable):
            assert table._open <= PG_CONNECTIONS and len(table._idle) == table._open
        else:
            assert isinstance(table, SqliteFsmTable) and table._db is not None  # its one connection
    finally:
        await table.close()
    if isinstance(table, PostgresFsmTable):
        assert table._open == 0


async def test_a_sqlite_write_waits_for_another_writer_without_blocking_the_loop(sqlite_db: StoreDB) -> None:
    table = fsm_table(sqlite_db.engine)
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    try:
        async with sqlite_db.engine.connect() as other:
            # The application's engine begins with BEGIN IMMEDIATE: this connection holds the write lock.
            await other.execute(text("INSERT INTO fsm (key, state, data, updated_at) "
                                     "VALUES ('other', 'S', '{}', CURRENT_TIMESTAMP)"))
            write = asyncio.create_task(table.write("k", "S", {"a": 1}))
            await asyncio.sleep(0.2)
            assert not write.done() and ticks >= 10  # it waits, and the loop goes on meanwhile
            assert await table.read("other") is None  # readers never wait (WAL) and see only what is committed
            await other.commit()
        await asyncio.wait_for(write, 5)
        assert await table.read("k") == ("S", {"a": 1}) and await table.read("other") == ("S", {})
    finally:
        ticker.cancel()
        await table.close()


async def test_an_in_memory_sqlite_database_is_refused_with_a_reason() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        with pytest.raises(NotImplementedError, match="file"):
            fsm_table(engine)
    finally:
        await engine.dispose()


async def test_a_connection_the_server_dropped_is_replaced_and_the_statement_run_again(store_db: StoreDB) -> None:
    if store_db.kind != "postgresql":
        pytest.skip("server connections: PostgreSQL only")
    table = fsm_table(store_db.engine)
    try:
        await table.write("k", "S", {"a": 1})
        (conn, driver), = table._idle
        pid = driver.get_server_pid()
        killer = store_db.new_engine()
        try:
            async with killer.connect() as admin:
                await admin.execute(text(f"SELECT pg_terminate_backend({int(pid)})"))
        finally:
            await killer.dispose()
        assert await table.read("k") == ("S", {"a": 1})
        (_, fresh), = table._idle
        assert fresh.get_server_pid() != pid
    finally:
        await table.close()


async def test_a_sqlite_busy_variant_is_waited_out_too(sqlite_db: StoreDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite reports some busy moments by extended codes (opening while another connection recovers the WAL:
    SQLITE_BUSY_RECOVERY); they are waited out like plain SQLITE_BUSY."""
    import sqlite3

    from kiebot.store.fsm_table import SqliteFsmTable

    table = fsm_table(sqlite_db.engine)
    opened = SqliteFsmTable._connection
    tries = 0

    def busy_once(self: SqliteFsmTable) -> sqlite3.Connection:
        nonlocal tries
        tries += 1
        if tries == 1:
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY_RECOVERY
            raise error
        return opened(self)

    monkeypatch.setattr(SqliteFsmTable, "_connection", busy_once)
    try:
        assert await table.read("k") is None and tries == 2
    finally:
        await table.close()
