"""The queries the bot runs most use an index, on SQLite and PostgreSQL: the real statements are captured while the
store functions run, then EXPLAINed with the same parameters.

The tables hold a few thousand rows, most jobs settled as in a bot that has run a while. PostgreSQL's are ANALYZEd
(as autovacuum does) and `enable_seqscan = off` rules out a sequential scan as the cheaper way for tables this small,
so the planner's choice is deterministic; SQLite plans without statistics, as the bot runs it (it never ANALYZEs).
On SQLite a plan may SEARCH a table through an index, never SCAN it (not even along an index)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store import jobs, payments, wallet
from kiebot.store.models import Job, JobState, LedgerEntry, Payment, User
from kiebot.store.stats import count_jobs_of
from tests.store_fixtures import StoreDB, store_db  # noqa: F401

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
USERS, JOBS_PER_USER = 40, 50
# As in a bot that has run a while: most jobs settled, a few open.
STATES = [JobState.DONE] * 180 + [JobState.FAILED] * 16 + [JobState.RUNNING, JobState.WAITING, JobState.DELIVERING,
                                                           JobState.SUBMITTING]


async def _fill(db: StoreDB) -> None:
    async with db.sessionmaker() as session:
        await session.execute(insert(User), [{"id": u, "balance": 0, "held": 0} for u in range(1, USERS + 1)])
        rows = []
        for u in range(1, USERS + 1):
            for j in range(JOBS_PER_USER):
                at = NOW - timedelta(minutes=j * 7 + u)
                rows.append({"user_id": u, "chat_id": u, "language": "en", "model_id": f"m{j % 9}", "values": {},
                             "files": [], "confirm_key": f"c{u}-{j}", "price": 10, "credits": "5",
                             "state": STATES[(u * JOBS_PER_USER + j) % len(STATES)].value, "created_at": at,
                             "next_check_at": at + timedelta(hours=1)})
        await session.execute(insert(Job), rows)
        await session.execute(insert(LedgerEntry), [
            {"user_id": u, "kind": "grant", "delta_balance": 1, "delta_held": 0, "key": f"k{u}-{i}"}
            for u in range(1, USERS + 1) for i in range(JOBS_PER_USER)])
        await session.execute(insert(Payment), [
            {"charge_id": f"charge-{u}-{i}", "user_id": u, "stars": 50, "credits": 100, "source": "bot",
             "state": "paid", "refund_attempt": 0} for u in range(1, USERS + 1) for i in range(10)])
        await session.commit()
    if db.kind == "postgresql":  # as autovacuum would; the bot never runs ANALYZE on SQLite, so neither does this
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()


async def _plans(db: StoreDB, call: Callable[[AsyncSession], Awaitable[Any]]) -> list[tuple[str, str]]:
    """(statement, plan) of every SELECT the call runs."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "FROM" in statement.upper():
            seen.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with db.sessionmaker() as session:
            await call(session)
            await session.rollback()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    plans = []
    async with db.engine.connect() as conn:
        if db.kind == "postgresql":
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, parameters in seen:
            explain = "EXPLAIN QUERY PLAN " if db.kind == "sqlite" else "EXPLAIN "
            rows = (await conn.exec_driver_sql(explain + statement, parameters)).all()
            plans.append((statement, "\n".join(str(row[-1]) for row in rows)))
        await conn.rollback()
    return plans


def _assert_uses(plans: list[tuple[str, str]], table: str, index: str, db: StoreDB) -> None:
    """Every captured statement that reads `table` reads it through `index`, never by a full scan."""
    reading = [(sql, plan) for sql, plan in plans if f"FROM {table}" in sql]
    for sql, plan in reading:  # shown with `pytest -s`
        print(f"--- {db.kind}: {' '.join(sql.split())[:160]}\n{plan}")
    assert reading, f"no statement on {table} captured"
    for sql, plan in reading:
        assert index in plan, f"{index} not used by\n{sql}\n{plan}"
        if db.kind == "sqlite":
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
            # SCAN (even USING INDEX) walks the whole table; only SEARCH narrows it down.
            assert not any(line.strip().startswith(f"SCAN {table}") for line in plan.splitlines()), plan
        else:
            assert f"Seq Scan on {table}" not in plan, plan


@pytest.fixture
async def filled(store_db: StoreDB) -> StoreDB:  # noqa: F811
    await _fill(store_db)
    return store_db


async def test_the_claim_of_due_jobs_uses_the_state_index(filled: StoreDB) -> None:
    async def claim(session: AsyncSession) -> None:
        await jobs.claim_due(session, "w1", NOW + timedelta(hours=2), 25, 1000, 3)  # room for the line too

    plans = await _plans(filled, claim)
    due = [(sql, plan) for sql, plan in plans if "next_check_at <=" in sql]
    assert len(due) == 2  # the active jobs, then the line of waiting ones
    _assert_uses(due, "jobs", "ix_jobs_state_next", filled)


async def test_history_pages_use_the_users_history_index(filled: StoreDB) -> None:
    async def history(session: AsyncSession) -> None:
        await jobs.recent_jobs(session, 7, limit=8, offset=8)

    _assert_uses(await _plans(filled, history), "jobs", "ix_jobs_user_history", filled)


async def test_counting_a_users_jobs_uses_a_user_index(filled: StoreDB) -> None:
    async def active(session: AsyncSession) -> None:
        await jobs.own_line(session, Job(id=10**9, user_id=7), 3)
        await jobs.count_open(session, 7)

    # Either of the user's indexes (by state, by history): each narrows the search down to the user's rows.
    _assert_uses(await _plans(filled, active), "jobs", "ix_jobs_user_", filled)

    async def total(session: AsyncSession) -> None:
        await count_jobs_of(session, 7)

    plans = await _plans(filled, total)
    assert all("ix_jobs_user_" in plan for _, plan in plans), plans


async def test_a_users_ledger_uses_the_ledger_index(filled: StoreDB) -> None:
    async def ledger(session: AsyncSession) -> None:
        await wallet.entries(session, 7)
        await wallet.latest_entries(session, 7, 5)
        await wallet.balance_moves_after(session, 7, 100)

    _assert_uses(await _plans(filled, ledger), "ledger", "ix_ledger_user_history", filled)


async def test_a_payment_is_found_by_its_charge_id_through_the_unique_index(filled: StoreDB) -> None:
    async def payment(session: AsyncSession) -> None:
        assert await payments.get_payment(session, "charge-7-3") is not None

    index = "sqlite_autoindex_payments_1" if filled.kind == "sqlite" else "uq_payments_charge_id"
    _assert_uses(await _plans(filled, payment), "payments", index, filled)
