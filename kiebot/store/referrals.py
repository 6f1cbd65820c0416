"""Who invited whom, and the once-only reward. Nothing here commits."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.db import dialect_insert
from kiebot.store.models import Job, LedgerEntry, LedgerKind, Payment, Referral


async def attach(session: AsyncSession, user_id: int, referrer_id: int) -> bool:
    """False when the user already has a referrer."""
    insert = dialect_insert(session)
    stmt = (
        insert(Referral)
        .values(user_id=user_id, referrer_id=referrer_id)
        .on_conflict_do_nothing(index_elements=[Referral.user_id])
        .returning(Referral.user_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def referrer_of(session: AsyncSession, user_id: int) -> int | None:
    return (await session.execute(select(Referral.referrer_id).where(Referral.user_id == user_id))).scalar()


async def claim_reward(session: AsyncSession, user_id: int, now: datetime) -> int | None:
    """Mark the referral rewarded (once): the referrer's id, or None (no referral, or rewarded before)."""
    stmt = (
        update(Referral)
        .where(Referral.user_id == user_id, Referral.rewarded_at.is_(None))
        .values(rewarded_at=now)
        .returning(Referral.referrer_id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def is_untouched(session: AsyncSession, user_id: int) -> bool:
    """The user has done nothing yet: no job, no payment, no ledger row but the welcome bonus."""
    for stmt in (
        select(func.count(Job.id)).where(Job.user_id == user_id),
        select(func.count(Payment.id)).where(Payment.user_id == user_id),
        select(func.count(LedgerEntry.id)).where(LedgerEntry.user_id == user_id, LedgerEntry.kind != LedgerKind.BONUS),
    ):
        if await session.scalar(stmt):
            return False
    return True
