"""aiogram FSM storage in the `fsm` table: a half-filled form survives a restart and is shared by replicas."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.memory import SimpleEventIsolation
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.store.db import dialect_insert
from kiebot.store.fsm_table import FsmTable, fsm_table
from kiebot.store.models import FsmRecord


@dataclass(frozen=True)
class _Row:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.state is None and not self.data


# The rows one update has read or written, per storage: (storage, {key: row}) while a `scope()` is open.
_scope: ContextVar[tuple[SqlStorage, dict[str, _Row]] | None] = ContextVar("kiebot_fsm_scope", default=None)


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of JSON data (what a caller gets must not change the row kept for the update)."""
    return json.loads(json.dumps(data)) if data else {}


class SqlStorage(BaseStorage):
    """One row per key (built by `key_builder`, default `DefaultKeyBuilder()`), holding both state and data.

    No update holds the database while it talks to Telegram: a read is one statement outside any transaction, and
    so is the write of a row already known (both below SQLAlchemy: `fsm_table.FsmTable`); a write of a row not
    read yet reads it (locked) and writes it in one short transaction. Inside `scope()` (one update: `isolation()` opens it with the
    user's lock) a key's row is read at most once, state and data together, and kept up to date by this storage's
    own writes: a write that changes nothing is skipped, and the others are one statement each, never read back.
    Outside a scope every call reads the row afresh.
    Data must be JSON-serializable (TypeError otherwise); a row whose state is None and data empty is deleted.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
        table: FsmTable | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.key_builder = key_builder or DefaultKeyBuilder()
        # One-statement work (the read of a row, the write of a row already known) needs no transaction.
        self.table = table or fsm_table(sessionmaker.kw["bind"])

    @asynccontextmanager
    async def scope(self) -> AsyncIterator[None]:
        """Rows read or written inside are kept until it ends (an update's handling, under its user's lock)."""
        token = _scope.set((self, {}))
        try:
            yield
        finally:
            _scope.reset(token)

    def isolation(self, inner: BaseEventIsolation | None = None) -> RowScopedIsolation:
        """aiogram's per-key lock (one update at a time per user) that also opens this storage's `scope()`;
        `inner`: the lock itself (default: in this process)."""
        return RowScopedIsolation(self, inner)

    def _rows(self) -> dict[str, _Row] | None:
        scope = _scope.get()
        return scope[1] if scope is not None and scope[0] is self else None

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

    async def _read(self, key: StorageKey) -> _Row:
        name = self._key(key)
        rows = self._rows()
        if rows is not None and name in rows:
            return rows[name]
        found = await self.table.read(name)
        row = _Row(*found) if found is not None else _Row()
        if rows is not None:
            rows[name] = row
        return row

    async def _change(self, key: StorageKey, change: Callable[[_Row], _Row]) -> _Row:
        """Apply `change` to the row in one write transaction. The row comes from the scope when it is there, else
        it is read (locked) in that transaction; a change that changes nothing writes nothing."""
        name = self._key(key)
        rows = self._rows()
        known = rows.get(name) if rows is not None else None
        if known is not None:
            row = change(known)
            if row == known:
                return known
            if row.empty:  # one statement, committed by itself
                await self.table.delete(name)
            else:
                await self.table.write(name, row.state, row.data)
        else:
            async with self.sessionmaker.begin() as session:
                found = (await session.execute(select(FsmRecord.state, FsmRecord.data)
                                               .where(FsmRecord.key == name).with_for_update())).first()
                current = _Row(found.state, dict(found.data or {})) if found is not None else _Row()
                row = change(current)
                if row != current:
                    await self._save(session, name, row)
        if rows is not None:
            rows[name] = row
        return row

    @staticmethod
    async def _save(session: AsyncSession, key: str, row: _Row) -> None:
        """Upsert the whole row, or delete it when it is empty: one statement."""
        if row.empty:
            await session.execute(delete(FsmRecord).where(FsmRecord.key == key))
            return
        insert = dialect_insert(session)
        stmt = insert(FsmRecord).values(key=key, state=row.state, data=row.data, updated_at=func.now())
        stmt = stmt.on_conflict_do_update(
            index_elements=[FsmRecord.key],
            set_={"state": stmt.excluded.state, "data": stmt.excluded.data, "updated_at": func.now()},
        )
        await session.execute(stmt)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._change(key, lambda row: _Row(value, row.data))

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._read(key)).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        value = self._json(data)
        await self._change(key, lambda row: _Row(row.state, value))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return _copy((await self._read(key)).data)

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `data` into the stored data in one transaction (read and write together, or the row the update
        already holds and the write)."""
        patch = self._json(dict(data))
        row = await self._change(key, lambda row: _Row(row.state, {**row.data, **patch}))
        return _copy(row.data)

    async def close(self) -> None:
        """Give back the table's kept connections (the engine belongs to the application, which disposes of it)."""
        await self.table.close()


class RowScopedIsolation(BaseEventIsolation):
    """One update at a time per key (`inner`: aiogram's `SimpleEventIsolation` in one process, its
    `RedisEventIsolation` across replicas), each in its own `SqlStorage.scope()`.

    aiogram's FSM middleware reads the state inside this lock, so the update's one read of the row happens there and
    every later state or data call of the update reuses it."""

    def __init__(self, storage: SqlStorage, inner: BaseEventIsolation | None = None) -> None:
        self.storage = storage
        self.inner = inner or SimpleEventIsolation()

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        async with self.inner.lock(key), self.storage.scope():
            yield

    async def close(self) -> None:
        await self.inner.close()
