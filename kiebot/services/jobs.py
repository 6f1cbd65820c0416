"""What the UI may do with a generation once it is confirmed: read its status, cancel it while it waits in the
bot's line, and start it again after a failure. Framework-free: the handler passes its session (the unit of work
of the update) and commits; nothing here talks to Telegram or KIE.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.catalog import Catalog
from kiebot.clock import utcnow
from kiebot.services import batches
from kiebot.services.wizard import Draft
from kiebot.store import jobs as job_repo
from kiebot.store.db import Database
from kiebot.store.models import Job, JobState


async def _own_job(session: AsyncSession, job_id: int, user_id: int) -> Job | None:
    job = await job_repo.get_job(session, job_id)
    return job if job is not None and job.user_id == user_id else None


# --- status ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    job_id: int
    model_id: str
    state: JobState
    price: int  # held at confirmation
    charged: int | None  # once done
    progress: int | None  # 0-100 while running
    ahead: int | None  # while waiting: jobs that will start before it (0: next)
    error_code: str | None  # once failed: the Fluent id suffix fail-<code>
    error_detail: str | None
    can_cancel: bool
    can_try_again: bool


async def job_status(session: AsyncSession, job_id: int, user_id: int, max_active_per_user: int,
                     now: datetime | None = None) -> JobStatus | None:
    """The user's job as the UI shows it; None when it is not theirs."""
    job = await _own_job(session, job_id, user_id)
    if job is None:
        return None
    ahead = await job_repo.line_position(session, job.id, max_active_per_user, now or utcnow())
    return JobStatus(
        job_id=job.id, model_id=job.model_id, state=JobState(job.state), price=job.price, charged=job.charged,
        progress=job.progress, ahead=ahead, error_code=job.error_code, error_detail=job.error_detail,
        can_cancel=job.state == JobState.WAITING, can_try_again=job.state == JobState.FAILED,
    )


# --- cancel ------------------------------------------------------------------------------------------


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"  # it never reached KIE: failed with error_code "cancelled", the whole hold released
    TOO_LATE = "too_late"  # already sent to KIE (or finished): it runs to the end
    NOT_FOUND = "not_found"  # no such job of this user


@dataclass(frozen=True)
class CancelResult:
    outcome: CancelOutcome
    released: int = 0  # units back on the balance


async def cancel_job(session: AsyncSession, job_id: int, user_id: int) -> CancelResult:
    """Cancel a job still waiting in the bot's line. A waiting job has not reached KIE, so the hold goes back at
    once; the state guard makes this race-free with a worker about to send it (one of the two wins)."""
    job = await _own_job(session, job_id, user_id)
    if job is None:
        return CancelResult(CancelOutcome.NOT_FOUND)
    if not await job_repo.fail_job(session, job, error_code="cancelled", only_from=(JobState.WAITING,)):
        return CancelResult(CancelOutcome.TOO_LATE)
    return CancelResult(CancelOutcome.CANCELLED, released=job.price)


# --- try again ---------------------------------------------------------------------------------------


class TryAgainOutcome(StrEnum):
    READY = "ready"  # open a new confirmation with model_id, values and files
    NOT_FAILED = "not_failed"  # only a failed job is tried again
    MODEL_GONE = "model_gone"  # the model is no longer offered (hidden or disabled)
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class TryAgain:
    outcome: TryAgainOutcome
    model_id: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # as they went into KIE's input
    files: list[dict[str, Any]] = field(default_factory=list)  # FileRef dicts (services.media)


async def try_again(session: AsyncSession, job_id: int, user_id: int, catalog: Catalog) -> TryAgain:
    """What the UI needs to rebuild the draft of a failed job (`Draft.prefilled(model, values, files)`) and show a
    new confirmation; nothing is held until the user confirms again. `catalog` is the offered catalogue."""
    job = await _own_job(session, job_id, user_id)
    if job is None:
        return TryAgain(TryAgainOutcome.NOT_FOUND)
    if job.state != JobState.FAILED:
        return TryAgain(TryAgainOutcome.NOT_FAILED, job.model_id)
    if catalog.get(job.model_id) is None:
        return TryAgain(TryAgainOutcome.MODEL_GONE, job.model_id)
    # Copies: the draft the UI builds from them must not share structures with the job row.
    return TryAgain(TryAgainOutcome.READY, job.model_id, copy.deepcopy(job.values), copy.deepcopy(job.files))


class JobControl:
    """The user's own hand on a confirmed job, each call one short unit of work."""

    def __init__(self, db: Database, max_active_per_user: int) -> None:
        self.db = db
        self.max_active_per_user = max_active_per_user

    async def status(self, user_id: int, job_id: int) -> JobStatus | None:
        async with self.db.read() as session:
            return await job_status(session, job_id, user_id, self.max_active_per_user)

    async def batch(self, user_id: int, batch_id: int) -> batches.BatchView | None:
        async with self.db.read() as session:
            return await batches.own_batch_view(session, batch_id, user_id)

    async def cancel_batch(self, user_id: int, batch_id: int) -> bool | None:
        """True: every variant cancelled and released; False: one has started; None: not the user's batch."""
        async with self.db.write.begin() as session:
            return await batches.cancel_batch(session, batch_id, user_id)

    async def cancel(self, user_id: int, job_id: int) -> CancelResult:
        async with self.db.write.begin() as session:
            return await cancel_job(session, job_id, user_id)

    async def try_again(self, user_id: int, job_id: int, catalog: Catalog) -> tuple[TryAgainOutcome, Any]:
        """(READY, (model, draft at its confirmation)) or (another outcome, None)."""
        async with self.db.read() as session:
            again = await try_again(session, job_id, user_id, catalog)
        model = catalog.get(again.model_id) if again.model_id else None
        if again.outcome != TryAgainOutcome.READY or model is None:
            return again.outcome, None
        return again.outcome, (model, Draft.prefilled(model, again.values, again.files))
