"""The job repository: state bookkeeping for the engine and the bot (no business rules beyond that).

Workers claim jobs with a lease (`lease_owner`, `lease_until`): a claim is a conditional UPDATE that only takes a
job whose lease is free or expired, so several replicas never work one job at once. Only the lease owner may change
a job with `update_job`. Settlement (`finish_job`, `fail_job`) changes the state and the money in one transaction and
is idempotent. Nothing here commits: the caller owns the unit of work (commit soon after `claim_due`).
All datetimes are aware UTC (see `models.UTCDateTime`).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store import free_tries, wallet
from kiebot.store.db import dialect_insert
from kiebot.store.models import (
    ACTIVE_STATES,
    OPEN_STATES,
    ChatThrottle,
    Job,
    JobState,
    User,
)

_JOB_COLUMNS = frozenset(c.key for c in Job.__mapper__.column_attrs)
_READONLY = frozenset({"id", "user_id", "confirm_key", "price"})


class NotEnoughBalance(Exception):
    """The balance does not cover the price; `shortfall` is how much is missing (> 0)."""

    def __init__(self, shortfall: int) -> None:
        super().__init__(f"not enough balance: {shortfall} short")
        self.shortfall = shortfall


def utcnow() -> datetime:
    return datetime.now(UTC)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _lease_free(now: datetime):  # type: ignore[no-untyped-def]
    return or_(Job.lease_until.is_(None), Job.lease_until <= now)


async def create_job(
    session: AsyncSession,
    *,
    user_id: int,
    chat_id: int,
    language: str,
    model_id: str,
    values: dict[str, Any],
    files: list[Any],
    confirm_key: str,
    price: int,
    credits: Decimal | str,
    now: datetime | None = None,
) -> Job | None:
    """Insert a `waiting` job and hold its price (ledger key `hold:<job_id>`) in the same transaction.

    Returns None when a job with this `confirm_key` exists already (two quick taps start one job).
    Raises NotEnoughBalance(shortfall) when the hold fails; the insert is then rolled back (SAVEPOINT).
    `now` (default: the current time) becomes `created_at` and `next_check_at`.
    """
    if isinstance(price, bool) or not isinstance(price, int) or price < 0:
        raise ValueError(f"price must be a non-negative int, got {price!r}")
    now = now or utcnow()
    insert = dialect_insert(session)
    async with session.begin_nested():  # leaving it by NotEnoughBalance rolls the insert back
        stmt = (
            insert(Job)
            .values(
                user_id=user_id,
                chat_id=chat_id,
                language=language,
                model_id=model_id,
                values=values,
                files=list(files),
                confirm_key=confirm_key,
                price=price,
                credits=str(credits),
                state=JobState.WAITING.value,
                attempts=0,
                created_at=now,
                next_check_at=now,
            )
            .on_conflict_do_nothing(index_elements=[Job.confirm_key])
            .returning(Job.id)
        )
        job_id = (await session.execute(stmt)).scalar_one_or_none()
        if job_id is None:
            return None
        if price > 0 and not await wallet.hold(session, user_id, price, f"hold:{job_id}", job_id=job_id):
            balance, _ = await wallet.get_balance(session, user_id)
            raise NotEnoughBalance(max(1, price - balance))
    return await get_job(session, job_id)


async def get_job(session: AsyncSession, job_id: int) -> Job | None:
    """The job as it is in the database now (a loaded object is refreshed)."""
    return await session.get(Job, job_id, populate_existing=True)


async def get_job_by_task(session: AsyncSession, kie_task_id: str) -> Job | None:
    stmt = select(Job).where(Job.kie_task_id == kie_task_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _take(session: AsyncSession, ids: list[int], owner: str, now: datetime, until: datetime) -> list[int]:
    if not ids:
        return []
    stmt = (
        update(Job)
        .where(Job.id.in_(ids), _lease_free(now))
        .values(lease_owner=owner, lease_until=until)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return list((await session.execute(stmt)).scalars())


async def claim_due(
    session: AsyncSession,
    owner: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    max_active_per_user: int,
) -> list[Job]:
    """Lease up to `limit` due jobs (`next_check_at <= now`, lease free or expired) to `owner`.

    Jobs in submitting/running/delivering come first (most overdue first). A `waiting` job is only taken while its
    user has fewer than `max_active_per_user` jobs that are active (submitting/running/delivering) or are waiting
    under a live lease (claimed to be started), oldest waiting first. Each claim is a conditional UPDATE on a free
    lease; on PostgreSQL candidate rows are read `FOR UPDATE SKIP LOCKED` and the user row is locked while its slots
    are counted, so replicas neither take one job twice nor start more than the limit. Commit soon after.
    """
    if limit <= 0:
        return []
    until = now + timedelta(seconds=lease_seconds)
    free = _lease_free(now)
    active = [s.value for s in ACTIVE_STATES]

    due_active = (
        select(Job.id)
        .where(Job.state.in_(active), Job.next_check_at <= now, free)
        .order_by(Job.next_check_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await _take(session, list((await session.execute(due_active)).scalars()), owner, now, until)

    remaining = limit - len(claimed)
    if remaining > 0:
        waiting_users = (
            select(Job.user_id, func.min(Job.id).label("first"))
            .where(Job.state == JobState.WAITING.value, Job.next_check_at <= now, free)
            .group_by(Job.user_id)
            .order_by(func.min(Job.id))
            .limit(remaining)
        )
        user_ids = [row[0] for row in (await session.execute(waiting_users)).all()]
        picked: dict[int, int] = {}
        for user_id in sorted(user_ids):  # lock users in one order: no deadlocks between replicas
            if remaining <= 0:
                break
            await session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
            busy = await session.scalar(
                select(func.count(Job.id)).where(
                    Job.user_id == user_id,
                    or_(
                        Job.state.in_(active),
                        and_(Job.state == JobState.WAITING.value, Job.lease_until > now),
                    ),
                )
            )
            slots = min(max_active_per_user - int(busy or 0), remaining)
            if slots <= 0:
                continue
            ids = (
                await session.execute(
                    select(Job.id)
                    .where(
                        Job.user_id == user_id,
                        Job.state == JobState.WAITING.value,
                        Job.next_check_at <= now,
                        free,
                    )
                    .order_by(Job.id)
                    .limit(slots)
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
            taken = await _take(session, list(ids), owner, now, until)
            for job_id in taken:
                picked[job_id] = user_id
            remaining -= len(taken)
        claimed.extend(sorted(picked))

    if not claimed:
        return []
    jobs = (
        await session.execute(
            select(Job).where(Job.id.in_(claimed)).execution_options(populate_existing=True)
        )
    ).scalars()
    order = {job_id: i for i, job_id in enumerate(claimed)}
    return sorted(jobs, key=lambda job: order[job.id])


async def release_lease(session: AsyncSession, job_id: int, owner: str) -> bool:
    """Give the lease back (only if it is ours). True when released."""
    return await update_job(session, job_id, owner, lease_owner=None, lease_until=None)


async def update_job(session: AsyncSession, job_id: int, owner: str, **fields: Any) -> bool:
    """Change fields of a job whose lease `owner` still holds. False (nothing changed) when the lease is not ours.

    Values may be SQL expressions (e.g. `attempts=Job.attempts + 1`). A loaded Job object is refreshed.
    """
    unknown = set(fields) - _JOB_COLUMNS
    if unknown:
        raise ValueError(f"unknown job fields: {sorted(unknown)}")
    readonly = set(fields) & _READONLY
    if readonly:
        raise ValueError(f"job fields that never change: {sorted(readonly)}")
    if not fields:
        return True
    values = {key: _plain(value) for key, value in fields.items()}
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        return False
    await _refresh_loaded(session, job_id, list(fields))
    return True


async def _refresh_loaded(session: AsyncSession, job_id: int, attrs: list[str] | None = None) -> None:
    from sqlalchemy.orm.util import identity_key

    job = session.sync_session.identity_map.get(identity_key(Job, job_id))
    if job is not None:
        await session.refresh(job, attrs)


async def recent_jobs(session: AsyncSession, user_id: int, limit: int = 10, offset: int = 0) -> list[Job]:
    """The user's jobs, newest first."""
    stmt = select(Job).where(Job.user_id == user_id).order_by(Job.id.desc()).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars())


async def count_active(session: AsyncSession, user_id: int) -> int:
    """Jobs of the user in submitting/running/delivering."""
    stmt = select(func.count(Job.id)).where(Job.user_id == user_id, Job.state.in_([s.value for s in ACTIVE_STATES]))
    return int(await session.scalar(stmt) or 0)


async def count_open(session: AsyncSession, user_id: int) -> int:
    """Jobs of the user not finished yet (waiting included)."""
    stmt = select(func.count(Job.id)).where(Job.user_id == user_id, Job.state.in_([s.value for s in OPEN_STATES]))
    return int(await session.scalar(stmt) or 0)


async def position_in_line(session: AsyncSession, job: Job) -> int:
    """How many waiting jobs of the same user are ahead of `job` (0: next to start)."""
    stmt = select(func.count(Job.id)).where(
        Job.user_id == job.user_id, Job.state == JobState.WAITING.value, Job.id < job.id
    )
    return int(await session.scalar(stmt) or 0)


async def finish_job(session: AsyncSession, job: Job, *, charged: int, key_suffix: str = "") -> bool:
    """DONE + capture of the hold (the user pays `charged`, the rest of the price goes back), one transaction.

    Idempotent: False (nothing changes) when the job is already done or failed. Ledger key `charge:<job_id><suffix>`.
    """
    if isinstance(charged, bool) or not isinstance(charged, int) or charged < 0 or charged > job.price:
        raise ValueError(f"charged must be an int between 0 and the price {job.price}, got {charged!r}")
    stmt = (
        update(Job)
        .where(Job.id == job.id, Job.state.in_([s.value for s in OPEN_STATES]))
        .values(state=JobState.DONE.value, charged=charged, finished_at=utcnow(), lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        await _refresh_loaded(session, job.id)
        return False
    if job.price > 0:
        await wallet.capture(session, job.user_id, job.id, job.price, charged, f"charge:{job.id}{key_suffix}")
    await _refresh_loaded(session, job.id)
    return True


async def fail_job(session: AsyncSession, job: Job, *, error_code: str, error_detail: str | None = None) -> bool:
    """FAILED + release of the whole price (or the free try given back), one transaction.

    Idempotent: False (nothing changes) when the job is already done or failed. Ledger key `release:<job_id>`.
    """
    stmt = (
        update(Job)
        .where(Job.id == job.id, Job.state.in_([s.value for s in OPEN_STATES]))
        .values(
            state=JobState.FAILED.value,
            error_code=str(error_code)[:32],
            error_detail=error_detail,
            finished_at=utcnow(),
            lease_owner=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        await _refresh_loaded(session, job.id)
        return False
    if job.price > 0:
        await wallet.release(session, job.user_id, job.id, job.price, f"release:{job.id}")
    await free_tries.give_back(session, job)  # a failed free run gives its daily try back
    await _refresh_loaded(session, job.id)
    return True


async def try_take_edit_slot(session: AsyncSession, chat_id: int, now: datetime, interval: float) -> bool:
    """True (and `now` recorded) when the chat's last status edit is at least `interval` seconds old.

    One upsert with a conditional DO UPDATE, so replicas racing for one chat get one True between them.
    """
    insert = dialect_insert(session)
    cutoff = now - timedelta(seconds=interval)
    stmt = insert(ChatThrottle).values(chat_id=chat_id, edited_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ChatThrottle.chat_id],
        set_={"edited_at": stmt.excluded.edited_at},
        where=ChatThrottle.edited_at <= cutoff,
    ).returning(ChatThrottle.chat_id)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def set_status_message(session: AsyncSession, job_id: int, message_id: int | None, text: str) -> None:
    """Remember the status message and what it shows (display only: no lease needed)."""
    await session.execute(
        update(Job).where(Job.id == job_id).values(status_message_id=message_id, status_text=text)
    )
