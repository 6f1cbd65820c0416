"""Aggregate reads over jobs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.models import Job


async def generations_per_model(session: AsyncSession, since: datetime) -> dict[str, int]:
    """How many generations each model ran since `since`."""
    stmt = select(Job.model_id, func.count(Job.id)).where(Job.created_at >= since).group_by(Job.model_id)
    return {model_id: int(count) for model_id, count in (await session.execute(stmt)).all()}


async def count_jobs_of(session: AsyncSession, user_id: int) -> int:
    return int(await session.scalar(select(func.count(Job.id)).where(Job.user_id == user_id)) or 0)
