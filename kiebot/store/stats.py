"""Aggregate reads over jobs."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.models import Job, JobState, Payment, PaymentState, User


async def generations_per_model(session: AsyncSession, since: datetime) -> dict[str, int]:
    """How many generations each model ran since `since`."""
    stmt = select(Job.model_id, func.count(Job.id)).where(Job.created_at >= since).group_by(Job.model_id)
    return {model_id: int(count) for model_id, count in (await session.execute(stmt)).all()}


async def count_jobs_of(session: AsyncSession, user_id: int) -> int:
    return int(await session.scalar(select(func.count(Job.id)).where(Job.user_id == user_id)) or 0)


# --- the operator's /stats: aggregates only, never rows --------------------------------------------------------


async def user_counts(session: AsyncSession, day: datetime, week: datetime) -> tuple[int, int, int]:
    """(all users, users new since `day`, users new since `week`)."""
    stmt = select(func.count(User.id), func.count(case((User.created_at >= day, 1))),
                  func.count(case((User.created_at >= week, 1))))
    total, today, this_week = (await session.execute(stmt)).one()
    return int(total), int(today), int(this_week)


async def active_users(session: AsyncSession, since: datetime) -> int:
    """Users who confirmed a generation or paid since `since`."""
    acting = union(select(Job.user_id).where(Job.created_at >= since),
                   select(Payment.user_id).where(Payment.created_at >= since)).subquery()
    return int(await session.scalar(select(func.count()).select_from(acting)) or 0)


async def jobs_by_state(session: AsyncSession) -> dict[str, int]:
    stmt = select(Job.state, func.count(Job.id)).group_by(Job.state)
    return {state: int(count) for state, count in (await session.execute(stmt)).all()}


async def top_models(session: AsyncSession, limit: int) -> list[tuple[str, int]]:
    """The `limit` models with the most generations, most first."""
    count = func.count(Job.id)
    stmt = select(Job.model_id, count).group_by(Job.model_id).order_by(count.desc(), Job.model_id).limit(limit)
    return [(model_id, int(n)) for model_id, n in (await session.execute(stmt)).all()]


async def stars_received(session: AsyncSession) -> int:
    """Stars of the payments that stand (refunded and refunding ones left out)."""
    stmt = select(func.coalesce(func.sum(Payment.stars), 0)).where(Payment.state == PaymentState.PAID.value)
    return int(await session.scalar(stmt) or 0)


async def charged_and_spent(session: AsyncSession) -> tuple[int, Decimal]:
    """(💎 charged for delivered generations, KIE credits of the runs KIE completed). The credits are each job's
    quote: exact for most models, the upper bound where the price depended on the output. Summed in Python per
    distinct quote, so the total stays an exact Decimal on SQLite too."""
    charged = await session.scalar(
        select(func.coalesce(func.sum(Job.charged), 0)).where(Job.state == JobState.DONE.value))
    stmt = select(Job.credits, func.count(Job.id)).where(Job.kie_state == "success").group_by(Job.credits)
    spent = sum((Decimal(credits) * n for credits, n in (await session.execute(stmt)).all()), Decimal(0))
    return int(charged or 0), spent
