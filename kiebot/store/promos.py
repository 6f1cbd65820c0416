"""Promo codes: the use counter only moves through one conditional UPDATE, so the limit holds under concurrent
redemptions (row lock on PostgreSQL, serial transactions on SQLite). Nothing here commits."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.db import dialect_insert
from kiebot.store.models import PromoCode


async def insert_promo(
    session: AsyncSession,
    *,
    code: str,
    amount: int,
    max_uses: int,
    expires_at: datetime | None,
    created_by: int | None,
) -> bool:
    """False when the code exists already."""
    insert = dialect_insert(session)
    stmt = (
        insert(PromoCode)
        .values(code=code, amount=amount, max_uses=max_uses, uses=0, expires_at=expires_at, disabled=False,
                created_by=created_by)
        .on_conflict_do_nothing(index_elements=[PromoCode.code])
        .returning(PromoCode.code)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def get_promo(session: AsyncSession, code: str) -> PromoCode | None:
    stmt = select(PromoCode).where(PromoCode.code == code).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def all_promos(session: AsyncSession) -> list[PromoCode]:
    return list((await session.execute(select(PromoCode).order_by(PromoCode.created_at, PromoCode.code))).scalars())


async def disable_promo(session: AsyncSession, code: str) -> bool:
    """False when there is no such code."""
    stmt = update(PromoCode).where(PromoCode.code == code).values(disabled=True)
    return (await session.execute(stmt.execution_options(synchronize_session=False))).rowcount == 1


async def take_use(session: AsyncSession, code: str, now: datetime) -> int | None:
    """Count one use if the code is enabled, not expired and not used up: the amount to credit, else None.

    `UPDATE … SET uses = uses + 1 WHERE code = :c AND uses < max_uses AND …`: atomic on both databases.
    """
    stmt = (
        update(PromoCode)
        .where(
            PromoCode.code == code,
            PromoCode.uses < PromoCode.max_uses,
            PromoCode.disabled.is_(False),
            or_(PromoCode.expires_at.is_(None), PromoCode.expires_at > now),
        )
        .values(uses=PromoCode.uses + 1)
        .returning(PromoCode.amount)
        .execution_options(synchronize_session=False)
    )
    amount = (await session.execute(stmt)).scalar_one_or_none()
    return None if amount is None else int(amount)
