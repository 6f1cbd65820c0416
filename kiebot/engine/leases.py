"""The worker's hold on the jobs it is stepping: a heartbeat renews their leases while the steps run.

Leases are short (JOB_LEASE_SECONDS, 25 s by default) so that after a crash (kill -9, a lost host) another worker
takes the jobs up within that time. A step that runs longer (a slow createTask, a big video upload to Telegram)
keeps its lease because the heartbeat renews every held lease in one UPDATE every fifth of the lease. A lease the
heartbeat finds taken by someone else is marked lost: the step must not send anything more, and its writes fail
anyway because every write that matters checks the lease or the job's state.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.store import jobs as job_repo

log = logging.getLogger(__name__)
BEATS_PER_LEASE = 5


class Heartbeat:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], owner: str, lease_seconds: float,
                 clock: Callable[[], datetime]) -> None:
        self.sessionmaker = sessionmaker
        self.owner = owner
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock
        # Job id → the number of its current hold: a job released and claimed again while a beat's UPDATE was on
        # its way is a new hold, which that beat did not see and must not call lost.
        self._held: dict[int, int] = {}
        self._holds = itertools.count(1)
        self._lost: set[int] = set()

    def hold(self, job_id: int) -> None:
        self._held[job_id] = next(self._holds)
        self._lost.discard(job_id)

    def drop(self, job_id: int) -> None:
        self._held.pop(job_id, None)
        self._lost.discard(job_id)

    def lost(self, job_id: int) -> bool:
        return job_id in self._lost

    async def renew(self) -> set[int]:
        """Renew every held lease; returns the ids found lost by this beat."""
        beat = dict(self._held)
        if not beat:
            return set()
        async with self.sessionmaker() as session:
            kept = await job_repo.renew_leases(session, self.owner, sorted(beat), self.clock() + self.lease)
            await session.commit()
        # Not lost: a step that ended meanwhile (it gave its lease back), or one that ended and was claimed again.
        lost = {job_id for job_id, hold in beat.items() if job_id not in kept and self._held.get(job_id) == hold}
        if lost:
            log.warning("worker %s lost the lease on jobs %s", self.owner, sorted(lost))
        self._lost |= lost
        return lost

    async def run(self) -> None:
        """Beat until cancelled (the worker cancels it once its last step has ended)."""
        interval = self.lease.total_seconds() / BEATS_PER_LEASE
        while True:
            await asyncio.sleep(interval)
            try:
                await self.renew()
            except Exception:  # the database may be back at the next beat, before the leases run out
                log.exception("could not renew job leases")
