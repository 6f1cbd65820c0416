"""KIE task callbacks, taken as hints.

A callback never delivers or charges anything by itself: it only makes the job due now, and the worker reads the
task again with recordInfo before acting (a forged or replayed callback costs one status request at most; a
duplicate does the same harmless thing twice). Polling stays the fallback for callbacks that never come.

A callback can also reveal a task whose id we never stored: createTask went through, but the worker died or its
answer was lost (a timeout) before the id was written. The callback URL names the job (`?job=<id>`); before
believing it, the task is read from KIE and its create body must carry that same callback URL. Then the task is
attached to the job if the job still waits for it (`submitting`, no task id), or it is an orphan: written down on
the settled job and reported to the operators once.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.engine.alerts import Alerts
from kiebot.kie.errors import KieError
from kiebot.store import jobs as job_repo

log = logging.getLogger(__name__)


class CallbackOutcome(StrEnum):
    DUE = "due"  # the job of this task will be looked at now
    ATTACHED = "attached"  # the task was the one a submitting job was waiting for
    ORPHAN = "orphan"  # a task of ours that no open job holds: reported to the operators
    IGNORED = "ignored"  # no job of ours (or a finished one): nothing to do


class CallbackInbox:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], kie: Any, alerts: Alerts,
                 clock: Callable[[], datetime], wake: Callable[[], None],
                 api_of: Callable[[str], Mapping[str, Any] | None] = lambda model_id: None) -> None:
        self.sessionmaker = sessionmaker
        self.kie = kie
        self.api_of = api_of  # a model's KIE API family and endpoints (`ModelSpec.api`), to read its task
        self.alerts = alerts
        self.clock = clock
        self.wake = wake

    async def receive(self, task_id: str, job_id: int | None) -> CallbackOutcome:
        if await self._make_due(task_id):
            return CallbackOutcome.DUE
        async with self.sessionmaker() as session:
            holder = await job_repo.get_job_by_task(session, task_id)
        if holder is not None:  # delivered, being delivered or settled: a late or duplicate callback
            return CallbackOutcome.IGNORED
        if job_id is None or not await self._created_for(task_id, job_id):
            log.info("KIE callback for task %s (job %s): no job of ours holds it", task_id, job_id)
            return CallbackOutcome.IGNORED
        return await self._unclaimed_task(task_id, job_id)

    async def _make_due(self, task_id: str) -> bool:
        async with self.sessionmaker() as session:
            due = await job_repo.make_due(session, task_id, self.clock())
            await session.commit()
        if due is not None:
            self.wake()
        return due is not None

    async def _created_for(self, task_id: str, job_id: int) -> bool:
        """True when KIE says the task was created with the callback URL of `job_id` (one read of the task, at the
        endpoint of the job's model family)."""
        async with self.sessionmaker() as session:
            job = await job_repo.get_job(session, job_id)
        api = self.api_of(job.model_id) if job is not None else None
        try:
            record = await self.kie.record_info(task_id, api=api)
        except KieError as exc:
            log.warning("KIE callback for task %s: cannot read the task (%s)", task_id, exc)
            return False
        url = str((record.param or {}).get("callBackUrl") or "")
        return parse_qs(urlsplit(url).query).get("job") == [str(job_id)]

    async def _unclaimed_task(self, task_id: str, job_id: int) -> CallbackOutcome:
        now = self.clock()
        async with self.sessionmaker() as session:
            attached = await job_repo.attach_task(session, job_id, task_id, kie_state="waiting", next_check_at=now)
            job = await job_repo.get_job(session, job_id)
            noted = not attached and await job_repo.note_orphan_task(session, job_id, task_id)
            await session.commit()
        if attached:
            log.warning("job %s: KIE task %s attached from its callback (its createTask answer was lost)",
                        job_id, task_id)
            self.wake()
            return CallbackOutcome.ATTACHED
        if job is None:
            return CallbackOutcome.IGNORED
        if job.kie_task_id == task_id and not noted:  # the worker stored it meanwhile
            return CallbackOutcome.DUE if await self._make_due(task_id) else CallbackOutcome.IGNORED
        await self.alerts.orphan_task(task_id, job.id, job.user_id, job.model_id)
        return CallbackOutcome.ORPHAN
