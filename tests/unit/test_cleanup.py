"""`kiebot cleanup` and the bot's daily run: rows of each kind before and after, on SQLite and PostgreSQL; the ledger,
payments and what /history shows and repeats stay."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update

from kiebot.catalog import Catalog
from kiebot.services.history import HistoryService
from kiebot.services.upkeep import Retention, cleanup
from kiebot.store import db, jobs, payments
from kiebot.store.db import Database
from kiebot.store.models import (
    ChatThrottle,
    FreeTries,
    FsmRecord,
    Job,
    LedgerEntry,
    OperatorAlert,
    Payment,
)
from kiebot.store.users import get_or_create_user
from tests.store_fixtures import StoreDB, store_db  # noqa: F401

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
OLD = NOW - timedelta(days=60)
RECENT = NOW - timedelta(days=3)
USER = 4242
EDIT = "google/nano-banana-edit"
VALUES = {"prompt": "make it snow", "image_urls": ["https://kie.example/u/1.png"], "output_format": "png"}
FILES = [{"field": "image_urls", "url": "https://kie.example/u/1.png", "file_id": "AgACfile1", "kind": "photo"}]
DELIVERED = [{"type": "photo", "file_id": "AgACresult1", "message_id": 77}]
RESULT = {"urls": ["https://kie.example/r/1.png"], "media": "image"}
RETENTION = Retention(draft_days=7, retention_days=30)


async def _job(sdb: StoreDB, key: str, finished: datetime, *, done: bool, detail: str | None = None) -> int:
    async with sdb.sessionmaker() as session:
        job = await jobs.create_job(session, user_id=USER, chat_id=USER, language="en", model_id=EDIT,
                                    values=VALUES, files=FILES, confirm_key=key, price=8, credits="4",
                                    now=finished - timedelta(minutes=2))
        assert job is not None
        if done:
            job.result, job.delivered = RESULT, DELIVERED
            assert await jobs.finish_job(session, job, charged=8)
        else:
            assert await jobs.fail_job(session, job, error_code="generation", error_detail=detail)
        await session.execute(update(Job).where(Job.id == job.id).values(finished_at=finished))
        await session.commit()
        return job.id


async def _fill(sdb: StoreDB) -> dict[str, int]:
    async with sdb.sessionmaker() as session:
        await get_or_create_user(session, USER, username=None, first_name="U", welcome_bonus=100)
        await payments.insert_payment(session, charge_id="ch-old", user_id=USER, stars=50, credits=100,
                                      payload=None, source="bot")
        draft = {"draft": {"model_id": EDIT, "values": {}}}
        await session.execute(insert(FsmRecord), [
            {"key": "fsm:1:1", "state": None, "data": draft, "updated_at": OLD},  # a stale draft
            {"key": "fsm:2:2", "state": "Form:step", "data": {}, "updated_at": OLD},  # a stale form state
            {"key": "fsm:3:3", "state": None, "data": draft, "updated_at": RECENT},  # a draft still in use
            {"key": "fsm:-100:0", "state": None, "data": {"told": True}, "updated_at": OLD},  # a group told once
        ])
        await session.execute(insert(OperatorAlert), [
            {"key": "kie:402", "sent_at": NOW - timedelta(days=2)},
            {"key": "kie:401", "sent_at": NOW - timedelta(minutes=10)},
            {"key": "orphan:t1", "sent_at": OLD},
            {"key": "orphan:t2", "sent_at": RECENT},
        ])
        await session.execute(insert(ChatThrottle), [
            {"chat_id": 1, "edited_at": NOW - timedelta(days=2)}, {"chat_id": 2, "edited_at": NOW}])
        await session.execute(insert(FreeTries), [
            {"user_id": USER, "day": (NOW - timedelta(days=40)).date(), "used": 1},
            {"user_id": USER, "day": NOW.date(), "used": 1}])
        await session.commit()
    return {
        "old_done": await _job(sdb, "a", OLD, done=True),
        "old_failed": await _job(sdb, "b", OLD, done=False, detail="upstream said: content flagged (raw)"),
        "recent_failed": await _job(sdb, "c", RECENT, done=False, detail="upstream said: timeout (raw)"),
    }


async def _count(sdb: StoreDB, column) -> int:  # type: ignore[no-untyped-def]
    async with sdb.sessionmaker() as session:
        return int(await session.scalar(select(func.count(column))) or 0)


async def test_cleanup_deletes_what_is_past_its_use_and_keeps_the_rest(store_db: StoreDB) -> None:  # noqa: F811
    ids = await _fill(store_db)
    ledger_before = await _count(store_db, LedgerEntry.id)
    report = await cleanup(Database.of(store_db.engine), RETENTION, now=NOW)
    assert (report.drafts, report.alerts, report.throttles, report.free_tries, report.raw_answers) == (2, 2, 1, 1, 1)

    async with store_db.sessionmaker() as session:
        assert set(await session.scalars(select(FsmRecord.key))) == {"fsm:3:3", "fsm:-100:0"}
        assert set(await session.scalars(select(OperatorAlert.key))) == {"kie:401", "orphan:t2"}
        assert list(await session.scalars(select(ChatThrottle.chat_id))) == [2]
        assert list(await session.scalars(select(FreeTries.day))) == [NOW.date()]
        details = dict((await session.execute(select(Job.id, Job.error_detail))).all())
    assert details == {ids["old_done"]: None, ids["old_failed"]: None,
                       ids["recent_failed"]: "upstream said: timeout (raw)"}
    assert await _count(store_db, LedgerEntry.id) == ledger_before
    assert await _count(store_db, Payment.id) == 1
    assert "deleted 2 draft(s) untouched for 7 days" in report.text()

    again = await cleanup(Database.of(store_db.engine), RETENTION, now=NOW)
    assert again.total == 0


async def test_history_still_shows_and_repeats_an_old_job_after_cleanup(store_db: StoreDB) -> None:  # noqa: F811
    ids = await _fill(store_db)
    await cleanup(Database.of(store_db.engine), RETENTION, now=NOW)
    history = HistoryService(Database.of(store_db.engine), ttl_hours=20)
    page = await history.page(USER, 0, Catalog.load())
    shown = {item.job_id: (item.model_id, item.state, item.amount) for item in page.items}
    assert shown[ids["old_done"]] == (EDIT, "done", 8) and shown[ids["old_failed"]] == (EDIT, "failed", 8)
    reopened = await history.reopen(USER, ids["old_done"], Catalog.load(), edit=False)
    assert reopened is not None
    model, draft = reopened
    assert model.id == EDIT and draft.values == VALUES and draft.files == FILES and draft.at_confirmation
    async with store_db.sessionmaker() as session:
        job = await jobs.get_job(session, ids["old_done"])
    assert job is not None and job.result == RESULT and job.delivered == DELIVERED and job.charged == 8


def test_the_command_prints_what_it_deleted(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
    asyncio.run(db.migrate(url))
    env = {**os.environ, "DATABASE_URL": url, "RETENTION_DAYS": "10"}
    done = subprocess.run([sys.executable, "-m", "kiebot", "cleanup"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "deleted 0 draft(s) untouched for 7 days (DRAFT_DAYS)" in done.stdout
    assert "settled more than 10 days ago (RETENTION_DAYS)" in done.stdout
