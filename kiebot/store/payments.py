"""Telegram Stars payments (one row per telegram_payment_charge_id) and the reconciliation checkpoint.

State changes are conditional UPDATEs on the state seen, so two replicas (or a reconciliation racing a
successful_payment update) never both act on one payment. Nothing here commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.db import dialect_insert
from kiebot.store.events import log_on_commit
from kiebot.store.models import Payment, PaymentState, StarsSync


async def insert_payment(
    session: AsyncSession,
    *,
    charge_id: str,
    user_id: int,
    stars: int,
    credits: int,
    payload: str | None,
    source: str,
    state: PaymentState = PaymentState.PAID,
) -> int | None:
    """The new payment's id, or None when this charge id is known already (INSERT … ON CONFLICT DO NOTHING)."""
    insert = dialect_insert(session)
    stmt = (
        insert(Payment)
        .values(charge_id=charge_id, user_id=user_id, stars=stars, credits=credits, payload=payload,
                source=source, state=state.value, refund_attempt=0)
        .on_conflict_do_nothing(index_elements=[Payment.charge_id])
        .returning(Payment.id)
    )
    payment_id = (await session.execute(stmt)).scalar_one_or_none()
    if payment_id is not None:
        log_on_commit(session, "payment recorded", payment=payment_id, account=user_id, stars=stars,
                      credits=credits, source=source, state=state.value)
    return payment_id


async def get_payment(session: AsyncSession, charge_id: str) -> Payment | None:
    stmt = select(Payment).where(Payment.charge_id == charge_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def user_payments(session: AsyncSession, user_id: int) -> list[Payment]:
    stmt = select(Payment).where(Payment.user_id == user_id).order_by(Payment.id)
    return list((await session.execute(stmt)).scalars())


async def has_payments(session: AsyncSession, user_id: int) -> bool:
    return (await session.execute(select(Payment.id).where(Payment.user_id == user_id).limit(1))).first() is not None


async def start_refund(session: AsyncSession, charge_id: str) -> int | None:
    """paid → refunding with the next attempt number (returned); None when the payment is not `paid` now."""
    stmt = (
        update(Payment)
        .where(Payment.charge_id == charge_id, Payment.state == PaymentState.PAID.value)
        .values(state=PaymentState.REFUNDING.value, refund_attempt=Payment.refund_attempt + 1)
        .returning(Payment.refund_attempt)
        .execution_options(synchronize_session=False)
    )
    attempt = (await session.execute(stmt)).scalar_one_or_none()
    if attempt is not None:
        log_on_commit(session, "payment state", charge=charge_id, state=PaymentState.REFUNDING.value, attempt=attempt)
    return attempt


async def set_state(
    session: AsyncSession,
    charge_id: str,
    *,
    was: PaymentState,
    now: PaymentState,
    at: datetime | None = None,
    debited: int | None = None,
    uncovered: int | None = None,
) -> bool:
    """Move the payment from `was` to `now` (refund figures recorded when given). False when it was not in `was`."""
    values: dict[str, object] = {"state": now.value}
    if now is PaymentState.REFUNDED:
        values["refunded_at"] = at
    if debited is not None:
        values["refund_debited"] = debited
    if uncovered is not None:
        values["refund_uncovered"] = uncovered
    stmt = (
        update(Payment)
        .where(Payment.charge_id == charge_id, Payment.state == was.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        return False
    log_on_commit(session, "payment state", charge=charge_id, state=now.value, was=was.value)
    return True


async def sync_position(session: AsyncSession, name: str) -> int:
    """How many Star transactions reconciliation has gone through (0 the first time)."""
    value = (await session.execute(select(StarsSync.position).where(StarsSync.name == name))).scalar_one_or_none()
    return int(value or 0)


async def advance_sync(session: AsyncSession, name: str, position: int) -> None:
    """Move the checkpoint forward (never back: a slower replica does not undo a faster one's progress)."""
    insert = dialect_insert(session)
    stmt = insert(StarsSync).values(name=name, position=position)
    stmt = stmt.on_conflict_do_update(
        index_elements=[StarsSync.name],
        set_={"position": stmt.excluded.position},
        where=StarsSync.position < stmt.excluded.position,
    )
    await session.execute(stmt)
