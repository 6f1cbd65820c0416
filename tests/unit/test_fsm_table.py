"""The fsm table's hot statements on the database driver (`store/fsm_table.py`)."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from kiebot.store.fsm_table import CONNECTIONS, FsmTable
from tests.store_fixtures import StoreDB, store_db  # noqa: F401


async def _row(store_db: StoreDB, key: str) -> tuple[str | None, str] | None:
    """The row as another connection of the application's engine sees it: committed, not just written."""
    async with store_db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT state, data FROM fsm WHERE key = :k"), {"k": key})).first()
    return (row[0], row[1]) if row is not None else None


async def test_a_row_is_written_read_and_deleted_each_by_one_committed_statement(store_db: StoreDB) -> None:
    table = FsmTable(store_db.engine)
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
    table = FsmTable(store_db.engine)
    try:
        await asyncio.gather(*(table.write(f"user:{i}", "S", {"i": i}) for i in range(30)))
        rows = await asyncio.gather(*(table.read(f"user:{i}") for i in range(30)))
        assert rows == [("S", {"i": i}) for i in range(30)]
        assert table._open <= CONNECTIONS[store_db.kind] and len(table._idle) == table._open
    finally:
        await table.close()
    assert table._open == 0


async def test_a_connection_the_server_dropped_is_replaced_and_the_statement_run_again(store_db: StoreDB) -> None:
    if store_db.kind != "postgresql":
        pytest.skip("server connections: PostgreSQL only")
    table = FsmTable(store_db.engine)
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
