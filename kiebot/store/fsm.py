"""aiogram FSM storage in the `fsm` table: a half-filled form survives a restart and is shared by replicas."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.store.db import dialect_insert
from kiebot.store.models import FsmRecord


class SqlStorage(BaseStorage):
    """One row per key (built by `key_builder`, default `DefaultKeyBuilder()`), holding both state and data.

    Every call is its own short transaction (reads through `reader`, which on SQLite takes no write lock), so no
    update holds the database while it talks to Telegram.
    Data must be JSON-serializable (TypeError otherwise); a row whose state is None and data empty is deleted.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
        reader: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.reader = reader or sessionmaker
        self.key_builder = key_builder or DefaultKeyBuilder()

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker.begin() as session:
            yield session

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        async with self.reader() as session:
            yield session

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    @staticmethod
    def _json(data: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        try:
            return json.loads(json.dumps(data))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"FSM data must be JSON-serializable: {exc}") from exc

    async def _write(self, session: AsyncSession, key: str, *, state: Any = ..., data: Any = ...) -> None:
        """Upsert the given columns of one row; delete the row when it ends up empty."""
        values: dict[str, Any] = {}
        if state is not ...:
            values["state"] = state
        if data is not ...:
            values["data"] = data
        insert = dialect_insert(session)
        stmt = insert(FsmRecord).values(
            key=key, state=values.get("state"), data=values.get("data", {}), updated_at=func.now()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[FsmRecord.key],
            set_={**{name: getattr(stmt.excluded, name) for name in values}, "updated_at": func.now()},
        )
        await session.execute(stmt)
        row = (await session.execute(select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == key))).one()
        if row.state is None and not row.data:
            await session.execute(delete(FsmRecord).where(FsmRecord.key == key))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._session() as session:
            await self._write(session, self._key(key), state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._reading() as session:
            return await session.scalar(select(FsmRecord.state).where(FsmRecord.key == self._key(key)))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        value = self._json(data)
        async with self._session() as session:
            await self._write(session, self._key(key), data=value)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._reading() as session:
            data = await session.scalar(select(FsmRecord.data).where(FsmRecord.key == self._key(key)))
        return dict(data or {})

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `data` into the stored data in one transaction (read and write together)."""
        patch = self._json(dict(data))
        name = self._key(key)
        async with self._session() as session:
            current = await session.scalar(
                select(FsmRecord.data).where(FsmRecord.key == name).with_for_update()
            )
            merged = {**(current or {}), **patch}
            await self._write(session, name, data=merged)
        return dict(merged)

    async def close(self) -> None:
        """The sessionmaker's engine belongs to the application, which disposes of it."""
