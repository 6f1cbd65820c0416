"""Telegram update ids already taken (webhook mode without Redis): one INSERT decides who handles an update."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.db import dialect_insert
from kiebot.store.models import SeenUpdate


async def take_update(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """True for the first caller with this id (the row is new), False for a repeat; replicas sharing the database
    agree, as the primary key admits one row."""
    insert = dialect_insert(session)
    result = await session.execute(
        insert(SeenUpdate).values(update_id=update_id, seen_at=now).on_conflict_do_nothing(
            index_elements=[SeenUpdate.update_id]))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def prune_updates(session: AsyncSession, before: datetime) -> int:
    """Forget ids taken before `before`; returns how many."""
    result = await session.execute(delete(SeenUpdate).where(SeenUpdate.seen_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
