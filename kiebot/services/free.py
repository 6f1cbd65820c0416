"""Free generations: FREE_DAILY per user per UTC day for the models in FREE_MODELS, used before the balance.

A job started free holds 0 💎 and has `jobs.free_try`; a failed free run gives its try back (`give_back_free_try`,
called by `store.jobs.fail_job` in the transaction that fails the job).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store import free_tries
from kiebot.store.models import Job


@dataclass(frozen=True)
class FreePolicy:
    daily: int = 0
    models: frozenset[str] = frozenset()

    @classmethod
    def of(cls, daily: int, models: Iterable[str]) -> FreePolicy:
        """From the settings: `FreePolicy.of(settings.free_daily, settings.free_models)`."""
        return cls(daily, frozenset(models))

    def covers(self, model_id: str) -> bool:
        return self.daily > 0 and model_id in self.models


def utc_day(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(UTC).date()


async def free_left(
    session: AsyncSession, user_id: int, model_id: str, policy: FreePolicy, now: datetime | None = None
) -> int:
    """Free tries the user still has today for this model (0 for a model that is not free)."""
    if not policy.covers(model_id):
        return 0
    return max(0, policy.daily - await free_tries.used_on(session, user_id, utc_day(now)))


async def give_back_free_try(session: AsyncSession, job: Job) -> bool:
    """A failed free run gives its try back (once). False when the job was not free or gave it back before.
    Does not commit: call it in the transaction that fails the job."""
    return await free_tries.give_back(session, job)
