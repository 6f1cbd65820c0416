"""The operator's figures for /stats: SQL aggregates in one read, plus the KIE account's credits (cached)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from kiebot.clock import utcnow
from kiebot.store import stats as queries
from kiebot.store.db import Database

TOP_MODELS = 5
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Stats:
    users: int
    new_today: int  # since 00:00 UTC
    new_week: int  # in the last 7 days
    active_today: int  # confirmed a generation or paid
    active_week: int
    by_state: dict[str, int]
    top_models: tuple[tuple[str, int], ...]
    stars: int  # Stars received (refunded payments left out)
    charged: int  # 💎 charged for delivered generations
    kie_spent: Decimal  # KIE credits of the runs KIE completed
    kie_balance: Decimal | None  # the KIE account's credits now; None when KIE did not answer

    @property
    def generations(self) -> int:
        return sum(self.by_state.values())


class StatsService:
    def __init__(self, db: Database, kie_balance: Callable[[], Awaitable[Decimal | None]],
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.kie_balance = kie_balance
        self.clock = clock

    async def snapshot(self) -> Stats:
        now = self.clock()
        day, week = now.replace(hour=0, minute=0, second=0, microsecond=0), now - WEEK
        async with self.db.read() as session:
            users, new_today, new_week = await queries.user_counts(session, day, week)
            active_today = await queries.active_users(session, day)
            active_week = await queries.active_users(session, week)
            by_state = await queries.jobs_by_state(session)
            top = await queries.top_models(session, TOP_MODELS)
            stars = await queries.stars_received(session)
            charged, spent = await queries.charged_and_spent(session)
        balance = await self.kie_balance()  # after the read: no transaction is open while KIE is asked
        return Stats(users, new_today, new_week, active_today, active_week, by_state, tuple(top), stars, charged,
                     spent, balance)
