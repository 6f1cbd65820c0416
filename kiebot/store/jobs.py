"""The job repository: state bookkeeping for the engine and the bot (no business rules beyond that).

Workers claim jobs with a lease (`lease_owner`, `lease_until`): a claim is a conditional UPDATE that only takes a
job whose lease is free or expired, so several replicas never work one job at once; the worker renews its leases
while a step runs (`renew_leases`). Only the lease owner may change a job with `update_job`, optionally only in an
expected state. The KIE task id is written by `attach_task`, guarded by the job's own state (`submitting` and no
task id yet) rather than by the lease, because the task exists at KIE whoever holds the lease by then.
Settlement (`finish_job`, `fail_job`) changes the state and the money in one transaction and is idempotent; the
engine passes its lease, so a worker that lost the job settles nothing. Nothing here commits: the caller owns the
unit of work (commit soon after `claim_due`). All datetimes are aware UTC (see `models.UTCDateTime`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.clock import utcnow
from kiebot.store import free_tries, wallet
from kiebot.store.db import dialect_insert
from kiebot.store.events import log_on_commit
from kiebot.store.models import (
    ACTIVE_STATES,
    OPEN_STATES,
    ChatThrottle,
    Job,
    JobState,
)

_JOB_COLUMNS = frozenset(c.key for c in Job.__mapper__.column_attrs)
_READONLY = frozenset({"id", "user_id", "confirm_key", "batch_id", "price", "kie_task_id"})  # the task id: `attach_task`
# Claims of waiting jobs take this PostgreSQL advisory lock (for their transaction): replicas counting a user's free
# slots one after another cannot start more than MAX_ACTIVE_PER_USER between them. SQLite serialises writers anyway.
_CLAIM_WAITING_LOCK = 0x6B696562  # "kieb"


class NotEnoughBalance(Exception):
    """The balance does not cover the price; `shortfall` is how much is missing (> 0)."""

    def __init__(self, shortfall: int) -> None:
        super().__init__(f"not enough balance: {shortfall} short")
        self.shortfall = shortfall



def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _state_changed(session: AsyncSession, job_id: int, state: JobState | str, **more: Any) -> None:
    """Every change of a generation's state goes through this module and is logged here, once, on commit."""
    log_on_commit(session, "generation state", job=job_id, state=_plain(state), **more)


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
    batch_id: int | None = None,
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
                batch_id=batch_id,
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
    _state_changed(session, job_id, JobState.WAITING, model=model_id, price=price)
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
        .where(Job.id.in_(ids), Job.state.in_([s.value for s in OPEN_STATES]), _lease_free(now))
        .values(lease_owner=owner, lease_until=until)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return list((await session.execute(stmt)).scalars())


def _taking_slot(now: datetime):  # type: ignore[no-untyped-def]
    """Jobs that take one of their user's MAX_ACTIVE_PER_USER slots (see `_claimable_waiting`)."""
    parked = and_(Job.state == JobState.DELIVERING.value, Job.batch_id.is_not(None))
    return or_(and_(Job.state.in_([s.value for s in ACTIVE_STATES]), ~parked),
               and_(Job.state == JobState.WAITING.value, Job.lease_until > now))


def _claimable_waiting(now: datetime, max_active_per_user: int):  # type: ignore[no-untyped-def]
    """The waiting jobs a worker may start now, in the fair order (SELECT id, user_id, slot).

    A user's slots are taken by jobs that are active or waiting under a live lease (claimed to be started); each
    user's due, unleased waiting jobs are numbered oldest first and only as many as the user has free slots
    qualify. A job's `slot` is which of its user's slots it would take (jobs taken + its number): the line goes by
    slot, then age, so every user's first job goes before anyone's second, a user with two jobs under way comes after
    one with none, and users at their limit (or with a batch of twenty queued) never hold back anyone else. A batch's
    variant whose result is in and waits for its siblings' (engine/albums.py) takes no slot: the siblings could not
    start otherwise.
    """
    busy = select(Job.user_id, func.count(Job.id).label("taken")).where(_taking_slot(now)).group_by(Job.user_id).subquery()
    ranked = (
        select(Job.id, Job.user_id, func.row_number().over(partition_by=Job.user_id, order_by=Job.id).label("rank"))
        .where(Job.state == JobState.WAITING.value, Job.next_check_at <= now, _lease_free(now))
        .subquery()
    )
    slot = (ranked.c.rank + func.coalesce(busy.c.taken, 0)).label("slot")
    return (
        select(ranked.c.id, ranked.c.user_id, slot)
        .outerjoin(busy, busy.c.user_id == ranked.c.user_id)
        .where(slot <= max_active_per_user)
        .order_by(slot, ranked.c.id)
    )


async def claim_due(
    session: AsyncSession,
    owner: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    max_active_per_user: int,
    slots: dict[int, int] | None = None,
) -> list[Job]:
    """Lease up to `limit` due jobs (`next_check_at <= now`, lease free or expired) to `owner`, in the order to
    work them.

    Jobs in submitting/running/delivering come first (most overdue first), read `FOR UPDATE SKIP LOCKED` on
    PostgreSQL. Then waiting jobs in the fair order of `_claimable_waiting`, under a transaction-scoped advisory
    lock on PostgreSQL so that replicas count free slots one after another; `slots`, when given, gets each claimed
    waiting job's slot (job id → slot), so later steps can keep that order across claims. Each claim is a conditional
    UPDATE on a free lease, so replicas never take one job twice. Commit soon after.
    """
    if limit <= 0:
        return []
    until = now + timedelta(seconds=lease_seconds)
    due_active = (
        select(Job.id)
        .where(Job.state.in_([s.value for s in ACTIVE_STATES]), Job.next_check_at <= now, _lease_free(now))
        .order_by(Job.next_check_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await _take(session, list((await session.execute(due_active)).scalars()), owner, now, until)
    remaining = limit - len(claimed)
    if remaining > 0:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_WAITING_LOCK})
        waiting = (await session.execute(_claimable_waiting(now, max_active_per_user).limit(remaining))).all()
        taken = set(await _take(session, [row.id for row in waiting], owner, now, until))
        claimed += [row.id for row in waiting if row.id in taken]  # in the fair order
        if slots is not None:
            slots.update((row.id, row.slot) for row in waiting if row.id in taken)
    if not claimed:
        return []
    jobs = (
        await session.execute(
            select(Job).where(Job.id.in_(claimed)).execution_options(populate_existing=True)
        )
    ).scalars()
    order = {job_id: i for i, job_id in enumerate(claimed)}
    return sorted(jobs, key=lambda job: order[job.id])


async def renew_leases(session: AsyncSession, owner: str, job_ids: list[int], until: datetime) -> set[int]:
    """Extend `owner`'s leases on `job_ids` to `until` in one statement; returns the ids still held (the others
    were lost: taken by another worker after expiring, or settled)."""
    if not job_ids:
        return set()
    stmt = (
        update(Job)
        .where(Job.id.in_(job_ids), Job.lease_owner == owner)
        .values(lease_until=until)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return set((await session.execute(stmt)).scalars())


async def release_lease(session: AsyncSession, job_id: int, owner: str) -> bool:
    """Give the lease back (only if it is ours). True when released."""
    return await update_job(session, job_id, owner, lease_owner=None, lease_until=None)


async def update_job(
    session: AsyncSession, job_id: int, owner: str, *, when_state: JobState | None = None, **fields: Any
) -> bool:
    """Change fields of a job whose lease `owner` still holds (and, with `when_state`, that is in that state).
    False (nothing changed) when the lease is not ours or the state has moved on (e.g. the user cancelled).

    Values may be SQL expressions (e.g. `attempts=Job.attempts + 1`). A loaded Job object is refreshed.
    """
    unknown = set(fields) - _JOB_COLUMNS
    if unknown:
        raise ValueError(f"unknown job fields: {sorted(unknown)}")
    readonly = set(fields) & _READONLY
    if readonly:
        raise ValueError(f"job fields update_job never changes: {sorted(readonly)}")
    if not fields:
        return True
    values = {key: _plain(value) for key, value in fields.items()}
    conditions = [Job.id == job_id, Job.lease_owner == owner]
    if when_state is not None:
        conditions.append(Job.state == _plain(when_state))
    stmt = (
        update(Job)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        return False
    if "state" in fields:
        _state_changed(session, job_id, fields["state"])
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


async def done_jobs_of(session: AsyncSession, user_id: int, model_ids: tuple[str, ...], limit: int) -> list[Job]:
    """The user's delivered generations (of `model_ids`; any model when empty) that KIE gave a task id, newest first."""
    stmt = select(Job).where(Job.user_id == user_id, Job.state == JobState.DONE.value, Job.kie_task_id.is_not(None))
    if model_ids:
        stmt = stmt.where(Job.model_id.in_(model_ids))
    return list((await session.execute(stmt.order_by(Job.id.desc()).limit(limit))).scalars())


async def count_open(session: AsyncSession, user_id: int) -> int:
    """Jobs of the user not finished yet (waiting included)."""
    stmt = select(func.count(Job.id)).where(Job.user_id == user_id, Job.state.in_([s.value for s in OPEN_STATES]))
    return int(await session.scalar(stmt) or 0)


async def own_line(session: AsyncSession, job: Job, max_active_per_user: int, now: datetime | None = None) -> int | None:
    """Where `job` stands among its own user's jobs: None when one of the user's MAX_ACTIVE_PER_USER slots is free
    for it, else how many of the user's jobs must still get a slot before it (0: it is next).

    Ahead of it: the user's other jobs that take a slot (`_taking_slot`: a worker may be starting one that still
    reads `waiting`) and the user's older waiting jobs no worker has taken yet, which get slots first."""
    now = now or utcnow()
    taking = and_(Job.id != job.id, _taking_slot(now))
    older_untaken = and_(Job.id < job.id, Job.state == JobState.WAITING.value, _lease_free(now))
    stmt = select(func.count(Job.id)).where(Job.user_id == job.user_id, or_(taking, older_untaken))
    before = int(await session.scalar(stmt) or 0)
    return before - max_active_per_user if before >= max_active_per_user else None


async def line_position(session: AsyncSession, job_id: int, max_active_per_user: int, now: datetime) -> int | None:
    """How many jobs will start before this waiting one as far as is known now (0: it is next, or a worker is
    starting it), or None when the job is not waiting. Counted: the user's own older waiting jobs no worker has
    taken yet, and the waiting jobs of other users that may start now and come first in the order of `claim_due`
    (a lower slot, or the same slot and older)."""
    job = await get_job(session, job_id)
    if job is None or job.state != JobState.WAITING:
        return None
    if job.lease_until is not None and job.lease_until > now:
        return 0
    own = int(await session.scalar(
        select(func.count(Job.id)).where(
            Job.user_id == job.user_id, Job.state == JobState.WAITING.value, Job.id < job.id, _lease_free(now)
        )
    ) or 0)
    taken = int(await session.scalar(
        select(func.count(Job.id)).where(Job.user_id == job.user_id, _taking_slot(now))) or 0)
    slot = taken + own + 1  # the one this job will take
    line = _claimable_waiting(now, max_active_per_user).subquery()
    others = await session.scalar(
        select(func.count()).select_from(line).where(
            line.c.user_id != job.user_id, or_(line.c.slot < slot, and_(line.c.slot == slot, line.c.id < job.id)))
    )
    return own + int(others or 0)


def _settle_guard(job: Job, owner: str | None, only_from: tuple[JobState, ...]) -> list[Any]:
    conditions = [Job.id == job.id, Job.state.in_([_plain(state) for state in only_from])]
    if owner is not None:
        conditions.append(Job.lease_owner == owner)
    return conditions


async def finish_job(
    session: AsyncSession,
    job: Job,
    *,
    charged: int,
    key_suffix: str = "",
    owner: str | None = None,
    only_from: tuple[JobState, ...] = OPEN_STATES,
) -> bool:
    """DONE + capture of the hold (the user pays `charged`, the rest of the price goes back), one transaction.

    Only from the states `only_from`, and with `owner` only while that worker holds the lease. Idempotent: False
    (nothing changes) when the job is already done or failed, or the guard fails. Ledger key `charge:<job_id><suffix>`.
    """
    if isinstance(charged, bool) or not isinstance(charged, int) or charged < 0 or charged > job.price:
        raise ValueError(f"charged must be an int between 0 and the price {job.price}, got {charged!r}")
    stmt = (
        update(Job)
        .where(*_settle_guard(job, owner, only_from))
        .values(state=JobState.DONE.value, charged=charged, finished_at=utcnow(), lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        await _refresh_loaded(session, job.id)
        return False
    _state_changed(session, job.id, JobState.DONE, charged=charged)
    if job.price > 0:
        await wallet.capture(session, job.user_id, job.id, job.price, charged, f"charge:{job.id}{key_suffix}")
    await _refresh_loaded(session, job.id)
    return True


async def fail_job(
    session: AsyncSession,
    job: Job,
    *,
    error_code: str,
    error_detail: str | None = None,
    owner: str | None = None,
    only_from: tuple[JobState, ...] = OPEN_STATES,
) -> bool:
    """FAILED + release of the whole price (or the free try given back), one transaction.

    Only from the states `only_from`, and with `owner` only while that worker holds the lease. Idempotent: False
    (nothing changes) when the job is already done or failed, or the guard fails. Ledger key `release:<job_id>`.
    """
    stmt = (
        update(Job)
        .where(*_settle_guard(job, owner, only_from))
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
    _state_changed(session, job.id, JobState.FAILED, error=error_code)
    if job.price > 0:
        await wallet.release(session, job.user_id, job.id, job.price, f"release:{job.id}")
    await free_tries.give_back(session, job)  # a failed free run gives its daily try back
    await _refresh_loaded(session, job.id)
    return True


# --- the KIE task id and callbacks -------------------------------------------------------------------


async def attach_task(session: AsyncSession, job_id: int, task_id: str, **fields: Any) -> bool:
    """Record the KIE task of a job that is `submitting` and has no task yet: the job becomes `running`.

    Guarded by the job's state, not by the lease: whoever learns the task id (the worker that sent createTask,
    or a callback after that worker died) may record it, once. False when the job has moved on (failed by a
    takeover, attached already); the caller then holds a task no job is waiting for.
    `fields` are further columns to set in the same statement (values, files, next_check_at...).
    """
    unknown = set(fields) - _JOB_COLUMNS
    if unknown:
        raise ValueError(f"unknown job fields: {sorted(unknown)}")
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.SUBMITTING.value, Job.kie_task_id.is_(None))
        .values(kie_task_id=task_id, state=JobState.RUNNING.value, **{k: _plain(v) for k, v in fields.items()})
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        return False
    _state_changed(session, job_id, JobState.RUNNING, task=task_id)
    await _refresh_loaded(session, job_id)
    return True


async def note_orphan_task(session: AsyncSession, job_id: int, task_id: str) -> bool:
    """Write down, on a job that is already settled and has no task id, the KIE task it turned out to have
    (createTask went through after all). For the record only: the state and the money do not change."""
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.state.in_([JobState.DONE.value, JobState.FAILED.value]),
               Job.kie_task_id.is_(None))
        .values(kie_task_id=task_id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).rowcount == 1


async def make_due(session: AsyncSession, task_id: str, now: datetime) -> int | None:
    """A KIE callback's hint: the running job of `task_id` is looked at now (no lease needed, only the time of the
    next look changes). Returns its id, or None when no running job has this task."""
    stmt = (
        update(Job)
        .where(Job.kie_task_id == task_id, Job.state == JobState.RUNNING.value)
        .values(next_check_at=now)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


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


async def count_by_model_and_state(session: AsyncSession) -> list[tuple[str, str, int]]:
    """(model, state, jobs) over every stored job: the metrics' generations and queue depth."""
    rows = await session.execute(
        select(Job.model_id, Job.state, func.count()).group_by(Job.model_id, Job.state))
    return [(str(model), str(state), int(count)) for model, state, count in rows]
