"""Database upkeep: what `kiebot cleanup` and the bot's daily run delete, in one short unit of work."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kiebot.clock import utcnow
from kiebot.config import Settings
from kiebot.store import db as store_db
from kiebot.store import upkeep
from kiebot.store.db import Database

# An hourly incident mark is useless after its hour; a day leaves room for clocks and replicas.
WINDOWED_ALERT_DAYS = 1
# A status-edit mark matters for STATUS_EDIT_INTERVAL seconds; anything older than a day is dead weight.
THROTTLE_DAYS = 1


@dataclass(frozen=True)
class Retention:
    draft_days: int
    retention_days: int

    @classmethod
    def of(cls, settings: Settings) -> Retention:
        return cls(settings.draft_days, settings.retention_days)


@dataclass(frozen=True)
class CleanupReport:
    drafts: int
    alerts: int
    throttles: int
    free_tries: int
    raw_answers: int
    retention: Retention

    @property
    def total(self) -> int:
        return self.drafts + self.alerts + self.throttles + self.free_tries + self.raw_answers

    def text(self) -> str:
        r = self.retention
        return "\n".join([
            f"deleted {self.drafts} draft(s) untouched for {r.draft_days} days (DRAFT_DAYS)",
            f"deleted {self.alerts} operator alert mark(s) past their use",
            f"deleted {self.throttles} status-edit mark(s) older than {THROTTLE_DAYS} day",
            f"deleted {self.free_tries} daily free-try counter(s) older than {r.retention_days} days",
            f"cleared KIE's raw answers of {self.raw_answers} job(s) settled more than {r.retention_days} days ago "
            "(RETENTION_DAYS)",
        ])


async def cleanup(database: Database, retention: Retention, now: datetime | None = None) -> CleanupReport:
    """Delete what is past its use; ledger rows, payments and what /history shows and repeats are never touched."""
    now = now or utcnow()
    old = now - timedelta(days=retention.retention_days)
    async with database.write() as session:
        report = CleanupReport(
            drafts=await upkeep.delete_stale_drafts(session, now - timedelta(days=retention.draft_days)),
            alerts=await upkeep.delete_stale_alerts(session, now - timedelta(days=WINDOWED_ALERT_DAYS), old),
            throttles=await upkeep.delete_stale_throttles(session, now - timedelta(days=THROTTLE_DAYS)),
            free_tries=await upkeep.delete_old_free_tries(session, old.date()),
            raw_answers=await upkeep.drop_raw_answers(session, old),
            retention=retention,
        )
        await session.commit()
    return report


async def cleanup_once(settings: Settings) -> CleanupReport:
    """`kiebot cleanup`: one run against DATABASE_URL."""
    engine = store_db.create_engine(settings.database_url)
    try:
        return await cleanup(Database.of(engine), Retention.of(settings))
    finally:
        await engine.dispose()
