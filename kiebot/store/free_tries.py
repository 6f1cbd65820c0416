"""Daily free tries: one counter row per user and UTC day, moved by conditional upserts/updates only.

A job started free holds 0 and carries `jobs.free_try`; its ledger row `free:<job_id>` (kind free, no money, note =
the day) records the use, and `free_back:<job_id>` the try given back when the run failed. Nothing here commits.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store import wallet
from kiebot.store.db import dialect_insert
from kiebot.store.models import FreeTries, Job, JobState, LedgerEntry, LedgerKind


def use_key(job_id: int) -> str:
    return f"free:{job_id}"


def give_back_key(job_id: int) -> str:
    return f"free_back:{job_id}"


async def used_on(session: AsyncSession, user_id: int, day: date) -> int:
    stmt = select(FreeTries.used).where(FreeTries.user_id == user_id, FreeTries.day == day)
    return int((await session.execute(stmt)).scalar_one_or_none() or 0)


async def take(session: AsyncSession, user_id: int, day: date, limit: int) -> bool:
    """Count one try on `day` if fewer than `limit` were used: one upsert whose update is conditional."""
    if limit <= 0:
        return False
    insert = dialect_insert(session)
    stmt = insert(FreeTries).values(user_id=user_id, day=day, used=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[FreeTries.user_id, FreeTries.day],
        set_={"used": FreeTries.used + 1},
        where=FreeTries.used < limit,
    ).returning(FreeTries.used)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def mark_job_free(session: AsyncSession, job: Job, day: date) -> None:
    """Flag a just-created job (price 0) as started with a free try, and record the use in the ledger."""
    await session.execute(
        update(Job).where(Job.id == job.id).values(free_try=True).execution_options(synchronize_session=False)
    )
    await session.refresh(job, ["free_try"])
    await wallet.record(session, job.user_id, LedgerKind.FREE, use_key(job.id), job_id=job.id, note=day.isoformat())


async def give_back(session: AsyncSession, job: Job) -> bool:
    """Return a failed free run's try to the day it was taken from. Idempotent (ledger key `free_back:<job_id>`);
    False when the job was not free, has not failed (as the database says), or gave the try back before."""
    if not job.free_try:
        return False
    state = (await session.execute(select(Job.state).where(Job.id == job.id))).scalar()
    if state != JobState.FAILED:
        return False
    day = await _day_taken(session, job.id)
    if day is None:
        return False
    if not await wallet.record(session, job.user_id, LedgerKind.FREE_BACK, give_back_key(job.id), job_id=job.id,
                               note=day.isoformat()):
        return False
    await session.execute(
        update(FreeTries)
        .where(FreeTries.user_id == job.user_id, FreeTries.day == day, FreeTries.used > 0)
        .values(used=FreeTries.used - 1)
        .execution_options(synchronize_session=False)
    )
    return True


async def _day_taken(session: AsyncSession, job_id: int) -> date | None:
    note = (await session.execute(select(LedgerEntry.note).where(LedgerEntry.key == use_key(job_id)))).scalar()
    return date.fromisoformat(note) if note else None
