"""A batch's results as one album: a variant whose result is in waits (in `delivering`) until every variant of its
batch has ended or has its result; then the first of them due claims the album on the batch row, sends it, and
settles every variant it carried, each with its own charge (a failed variant was released when it failed).

Waiting costs nothing: a variant's end wakes its waiting siblings (`wake_siblings`), and a waiting variant does
not hold one of its user's active slots (store/jobs.py), so a batch larger than MAX_ACTIVE_PER_USER still
completes. The album claim lasts a lease (JOB_LEASE_SECONDS) and is renewed while the album is being sent, so a
worker that died mid-send leaves it to the next within a lease, like any job.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.catalog import ModelSpec
from kiebot.engine import schedule
from kiebot.engine.leases import Heartbeat
from kiebot.engine.ports import Notifier, RecipientGone
from kiebot.store import batches as batch_repo
from kiebot.store import jobs as job_repo
from kiebot.store.models import Job, JobState


class Engine(Protocol):
    """The parts of `worker.Engine` an album's delivery uses (a protocol: the worker imports this module)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    notifier: Notifier
    heartbeat: Heartbeat
    clock: Callable[[], datetime]
    speedup: float
    lease_seconds: float

    def wake(self) -> None: ...
    async def _save(self, job: Job, *, when_state: JobState | None = None, **fields: Any) -> bool: ...
    async def _delivery_failed(self, job: Job, exc: Exception) -> None: ...
    async def _actual_price(self, job: Job, model: ModelSpec | None, urls: list[str]) -> int: ...
    async def _show(self, job: Job, *, final: bool = False) -> None: ...

log = logging.getLogger(__name__)
ENDED = (JobState.DELIVERING, JobState.DONE, JobState.FAILED)


async def deliver(engine: Engine, job: Job, model: ModelSpec | None) -> None:
    """`job` has its result: send the batch's album if it is complete and no other worker is sending it."""
    assert job.batch_id is not None
    now = engine.clock()
    async with engine.sessionmaker() as session:
        batch = await batch_repo.get_batch(session, job.batch_id)
        variants = await batch_repo.batch_jobs(session, job.batch_id)
        complete = all(variant.state in ENDED for variant in variants)
        claimed = complete and await batch_repo.claim_album(session, job.batch_id, now, _claim_end(engine, now))
        await session.commit()
    assert batch is not None
    if not claimed:  # the others are still running (their ends wake this one), or another worker sends the album
        wait = schedule.poll_interval(0, engine.speedup) if complete else schedule.fallback_interval(
            model.typical_seconds if model else 0, engine.speedup)
        if await engine._save(job, when_state=JobState.DELIVERING, next_check_at=now + wait) and not complete:
            await engine._show(job, final=True)  # "k of N ready": one more result is in (an unchanged text is skipped)
        return
    if engine.heartbeat.lost(job.id):  # another worker has this job now: it sends, not us
        await _drop_claim(engine, job.batch_id)
        return
    keeper = asyncio.create_task(_keep_claim(engine, batch.id), name=f"album-claim-{batch.id}")
    try:
        sent = await engine.notifier.deliver_batch(variants, batch.vary_field)
    except RecipientGone:
        log.warning("batch %s: user %s blocked the bot; not delivered, holds released", batch.id, job.user_id)
        await _fail_delivering(engine, variants, "undelivered")
        return
    except Exception as exc:
        await _drop_claim(engine, job.batch_id)
        await engine._delivery_failed(job, exc)
        return
    finally:
        keeper.cancel()
    await _settle(engine, job, model, variants, sent)


async def _settle(engine: Engine, job: Job, model: ModelSpec | None, variants: list[Job],
                  sent: dict[int, list[dict[str, Any]]]) -> None:
    """Charge each delivered variant its own price (measured from its result where the price depends on it)."""
    charges = {v.id: await engine._actual_price(v, model, list((v.result or {}).get("urls") or []))
               for v in variants if v.id in sent}
    async with engine.sessionmaker() as session:
        for variant_id, charged in charges.items():
            fresh = await job_repo.get_job(session, variant_id)
            assert fresh is not None
            fresh.delivered = sent[variant_id]
            await job_repo.finish_job(session, fresh, charged=charged, only_from=(JobState.DELIVERING,))
        assert job.batch_id is not None
        await batch_repo.mark_delivered(session, job.batch_id, engine.clock())
        await session.commit()
        fresh_job = await job_repo.get_job(session, job.id)
    assert fresh_job is not None
    job.state, job.charged, job.lease_owner = fresh_job.state, fresh_job.charged, fresh_job.lease_owner
    log.info("batch %s: album of %s variants delivered", job.batch_id, len(charges))
    await engine._show(job, final=True)


async def _fail_delivering(engine: Engine, variants: list[Job], reason: str) -> None:
    async with engine.sessionmaker() as session:
        for variant in variants:
            fresh = await job_repo.get_job(session, variant.id)
            if fresh is not None:
                await job_repo.fail_job(session, fresh, error_code=reason, only_from=(JobState.DELIVERING,))
        await session.commit()


def _claim_end(engine: Engine, now: datetime) -> datetime:
    return now + timedelta(seconds=engine.lease_seconds)


async def _keep_claim(engine: Engine, batch_id: int) -> None:
    """Renew the album claim while the album is being sent (a send of ten files can outlast one lease)."""
    while True:
        await asyncio.sleep(engine.lease_seconds / 3)
        async with engine.sessionmaker() as session:
            await batch_repo.extend_album_claim(session, batch_id, _claim_end(engine, engine.clock()))
            await session.commit()


async def _drop_claim(engine: Engine, batch_id: int) -> None:
    async with engine.sessionmaker() as session:
        await batch_repo.drop_album_claim(session, batch_id)
        await session.commit()


async def wake_siblings(engine: Engine, job: Job) -> None:
    """A variant failed: its siblings waiting with their results look again now (the album may be complete)."""
    if job.batch_id is None:
        return
    async with engine.sessionmaker() as session:
        await batch_repo.wake_delivering(session, job.batch_id, engine.clock())
        await session.commit()
    engine.wake()
