"""Operator alerts once per incident, whichever replica sees it.

A KIE error seen by every job and every poll (an invalid key, an empty account) is one incident: it is reported
once per code and hour, with the time kept in the database (`operator_alerts`) so replicas share it. A task KIE
made that no job holds is reported once, ever.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.engine.ports import Notifier
from kiebot.store.alerts import claim_alert, clear_alert

log = logging.getLogger(__name__)
INCIDENT_WINDOW = timedelta(hours=1)


class Alerts:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], notifier: Notifier,
                 clock: Callable[[], datetime]) -> None:
        self.sessionmaker = sessionmaker
        self.notifier = notifier
        self.clock = clock

    async def once(self, key: str, alert: str, window: timedelta | None = INCIDENT_WINDOW, **params: Any) -> bool:
        """Send `alert` (a text id, with `params`) unless incident `key` was reported within `window` (None: ever).
        True when sent."""
        async with self.sessionmaker() as session:  # claimed and committed before Telegram is called
            fresh = await claim_alert(session, key, self.clock(), window)
            await session.commit()
        if not fresh:
            log.info("operator alert %s already sent: %s", key, alert)
            return False
        try:
            await self.notifier.alert_operators(alert, **params)
        except Exception:  # an alert that could not go out must not break the job step that raised it
            log.exception("could not send operator alert %s", key)
        return True

    async def resolve(self, key: str) -> bool:
        """Incident `key` is over: its next occurrence is reported again. True when it was open."""
        async with self.sessionmaker() as session:
            cleared = await clear_alert(session, key)
            await session.commit()
        if cleared:
            log.info("operator alert %s resolved", key)
        return cleared

    async def kie_code(self, kie_code: int, alert: str, scope: str = "", **params: Any) -> bool:
        """One alert per KIE code (and `scope`, e.g. a model id) and hour."""
        return await self.once(f"kie:{kie_code}{':' + scope if scope else ''}", alert, **params)

    async def orphan_task(self, task_id: str, job_id: int, user_id: int, model_id: str) -> bool:
        """KIE ran a task that no open job holds (a createTask answer lost in a crash or a timeout): KIE credits
        were spent and the user was refunded. Reported once per task."""
        log.error("KIE task %s of job %s (user %s, %s) has no open job: not delivered, not charged",
                  task_id, job_id, user_id, model_id)
        return await self.once(f"orphan:{task_id}", "alert-orphan-task", window=None, task=task_id, job=job_id,
                               user_id=user_id, model=model_id)
