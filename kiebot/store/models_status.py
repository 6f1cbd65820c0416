"""Models switched off at run time (KIE's "feature disabled"), shared by every replica through the database."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.db import dialect_insert
from kiebot.store.models import DisabledModel


async def disable_model(session: AsyncSession, model_id: str, reason: str) -> None:
    insert = dialect_insert(session)
    stmt = insert(DisabledModel).values(model_id=model_id, reason=reason[:255]).on_conflict_do_nothing()
    await session.execute(stmt)


async def disabled_models(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(DisabledModel.model_id))).all())
