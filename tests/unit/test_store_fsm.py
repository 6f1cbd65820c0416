"""aiogram FSM storage in SQL."""
from __future__ import annotations

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from sqlalchemy import func, select

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
