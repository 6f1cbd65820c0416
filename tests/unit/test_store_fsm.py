"""aiogram FSM storage in SQL."""
from __future__ import annotations

from typing import Any

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from kiebot.store.db import session_factory
from kiebot.store.fsm import SqlStorage
from kiebot.store.models import FsmRecord
from tests.store_fixtures import StoreDB, sqlite_db, store_db  # noqa: F401


class Form(StatesGroup):
    field = State()


KEY = StorageKey(bot_id=1, chat_id=10, user_id=20)


async def test_state_and_data(store_db: StoreDB) -> None:
    storage = SqlStorage(store_db.sessionmaker)
    assert await storage.get_state(KEY) is None and await storage.get_data(KEY) == {}
    await storage.set_state(KEY, Form.field)
    assert await storage.get_state(KEY) == "Form:field"
    await storage.set_data(KEY, {"model": "x", "values": {"n": 1}})
    assert await storage.update_data(KEY, {"step": 2}) == {"model": "x", "values": {"n": 1}, "step": 2}
    assert await storage.get_data(KEY) == {"model": "x", "values": {"n": 1}, "step": 2}
    assert await storage.get_value(KEY, "step") == 2
    assert await storage.get_state(KEY) == "Form:field"  # data writes keep the state
    other = StorageKey(bot_id=1, chat_id=10, user_id=21)
    assert await storage.get_data(other) == {}
    with pytest.raises(TypeError):
        await storage.set_data(KEY, {"bad": object()})
    await storage.set_state(KEY, None)
    await storage.set_data(KEY, {})
    async with store_db.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(FsmRecord)) == 0  # empty rows are removed
    await storage.close()


async def test_survives_restart(sqlite_db: StoreDB) -> None:
    builder = DefaultKeyBuilder(with_bot_id=True)
    storage = SqlStorage(sqlite_db.sessionmaker, key_builder=builder)
    await storage.set_state(KEY, "Form:field")
    await storage.update_data(KEY, {"prompt": "a cat"})
    await storage.close()
    await sqlite_db.engine.dispose()

    restarted = SqlStorage(session_factory(sqlite_db.new_engine()), key_builder=builder)
    assert await restarted.get_state(KEY) == "Form:field"
    assert await restarted.get_data(KEY) == {"prompt": "a cat"}
    async with restarted.sessionmaker() as s:
        assert await s.scalar(select(FsmRecord.key)) == "fsm:1:10:20"
    await restarted.close()


class Statements:
    """The SQL statements a storage runs (BEGIN/COMMIT excluded), by their first word: through the engine, and on
    the driver by its `FsmTable`."""

    def __init__(self, engine: AsyncEngine, storage: SqlStorage) -> None:
        self.seen: list[str] = []
        self.engine = engine.sync_engine
        event.listen(self.engine, "before_cursor_execute", self._seen)
        storage.table.observe = lambda word: self.seen.append(word)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        word = statement.split(None, 1)[0].upper()
        if word not in ("BEGIN", "COMMIT", "ROLLBACK"):
            self.seen.append(word)

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


async def test_one_update_reads_its_row_once_and_writes_without_reading_back(store_db: StoreDB) -> None:
    storage = SqlStorage(store_db.sessionmaker)
    await storage.set_state(KEY, Form.field)
    await storage.set_data(KEY, {"draft": {"values": {"n": 1}}})
    sql = Statements(store_db.engine, storage)
    try:
        async with storage.scope():  # what a wizard step does
            assert await storage.get_state(KEY) == "Form:field"
            data = await storage.get_data(KEY)
            data["draft"]["values"]["n"] = 99  # a caller's copy: the row kept for the update does not change
            assert await storage.get_data(KEY) == {"draft": {"values": {"n": 1}}}
            await storage.set_state(KEY, Form.field)  # unchanged: nothing written
            assert sql.take() == ["SELECT"]
            assert await storage.update_data(KEY, {"step": 2}) == {"draft": {"values": {"n": 1}}, "step": 2}
            assert sql.take() == ["INSERT"]  # one upsert, not read back
            assert await storage.get_data(KEY) == {"draft": {"values": {"n": 1}}, "step": 2}
            await storage.set_state(KEY, None)
            await storage.set_data(KEY, {})
            assert sql.take() == ["INSERT", "DELETE"]  # an emptied row is deleted, still without a read
        assert await storage.get_state(KEY) is None and await storage.get_data(KEY) == {}
        assert sql.take() == ["SELECT", "SELECT"]  # outside a scope every call reads afresh
    finally:
        sql.close()
        await storage.close()


async def test_a_scope_keeps_nothing_for_the_next_update(store_db: StoreDB) -> None:
    storage = SqlStorage(store_db.sessionmaker)
    other_replica = SqlStorage(store_db.sessionmaker)
    async with storage.scope():
        assert await storage.get_state(KEY) is None
        await other_replica.set_state(KEY, Form.field)  # another storage's write is not seen inside this scope
        assert await storage.get_state(KEY) is None
    async with storage.scope():
        assert await storage.get_state(KEY) == "Form:field"
    await storage.close()
    await other_replica.close()


async def test_the_isolation_lock_opens_a_scope(store_db: StoreDB) -> None:
    storage = SqlStorage(store_db.sessionmaker)
    isolation = storage.isolation()
    sql = Statements(store_db.engine, storage)
    try:
        async with isolation.lock(KEY):
            await storage.get_state(KEY)
            await storage.get_data(KEY)
        assert sql.take() == ["SELECT"]
    finally:
        sql.close()
        await isolation.close()
        await storage.close()
