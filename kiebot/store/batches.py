"""The batch repository: variants confirmed together (SQL only; the rules are in services/batches.py).

A batch is a row in `batches` and its jobs (`jobs.batch_id`). Each job holds, runs and settles on its own; the
batch row only carries what the variants share: the status message's last text and the album, sent once by the
worker whose conditional UPDATE claimed it (`claim_album`). Nothing here commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.db import dialect_insert
from kiebot.store.models import Batch, Job, JobState


async def create_batch(session: AsyncSession, *, user_id: int, confirm_key: str, size: int,
                       vary_field: str | None) -> int | None:
    """Insert the batch; None when this confirmation started one already (two quick taps start one batch)."""
    insert = dialect_insert(session)
    stmt = (
        insert(Batch)
        .values(user_id=user_id, confirm_key=confirm_key, size=size, vary_field=vary_field)
        .on_conflict_do_nothing(index_elements=[Batch.confirm_key])
        .returning(Batch.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_batch(session: AsyncSession, batch_id: int) -> Batch | None:
    return await session.get(Batch, batch_id, populate_existing=True)


async def batch_jobs(session: AsyncSession, batch_id: int) -> list[Job]:
    """The batch's jobs in the order they were confirmed (fresh from the database)."""
    stmt = (select(Job).where(Job.batch_id == batch_id).order_by(Job.id)
            .execution_options(populate_existing=True))
    return list((await session.execute(stmt)).scalars())


async def claim_album(session: AsyncSession, batch_id: int, now: datetime, until: datetime) -> bool:
    """Take the sending of the batch's album until `until`, unless it was delivered or another worker's claim is
    still live. One conditional UPDATE: of two workers only one gets True."""
    stmt = (
        update(Batch)
        .where(Batch.id == batch_id, Batch.delivered_at.is_(None),
               or_(Batch.album_until.is_(None), Batch.album_until <= now))
        .values(album_until=until)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).rowcount == 1


async def extend_album_claim(session: AsyncSession, batch_id: int, until: datetime) -> None:
    """The claimer is still sending: its claim now lasts until `until`."""
    await session.execute(update(Batch).where(Batch.id == batch_id, Batch.delivered_at.is_(None),
                                              Batch.album_until.is_not(None)).values(album_until=until))


async def drop_album_claim(session: AsyncSession, batch_id: int) -> None:
    """The send failed: the next worker due may try again at once."""
    await session.execute(update(Batch).where(Batch.id == batch_id, Batch.delivered_at.is_(None))
                          .values(album_until=None))


async def mark_delivered(session: AsyncSession, batch_id: int, now: datetime) -> None:
    await session.execute(update(Batch).where(Batch.id == batch_id).values(delivered_at=now, album_until=None))


async def wake_delivering(session: AsyncSession, batch_id: int, now: datetime) -> None:
    """A variant ended: its siblings waiting with their results look again now (the album may be complete)."""
    await session.execute(
        update(Job)
        .where(Job.batch_id == batch_id, Job.state == JobState.DELIVERING.value, Job.next_check_at > now)
        .values(next_check_at=now)
        .execution_options(synchronize_session=False)
    )


async def set_status(session: AsyncSession, batch_id: int, message_id: int | None, text: str) -> None:
    """Remember what the batch's status message shows, and the message (every variant's: when the old one could
    not be edited, a new one was sent, and all of them edit that one from now on)."""
    await session.execute(update(Batch).where(Batch.id == batch_id).values(status_text=text))
    await session.execute(update(Job).where(Job.batch_id == batch_id).values(status_message_id=message_id)
                          .execution_options(synchronize_session=False))
