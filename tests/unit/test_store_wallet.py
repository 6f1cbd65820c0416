"""The wallet ledger: idempotent movements, invariants under random sequences, concurrent holds."""
from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kiebot.store import wallet
from kiebot.store.models import LedgerEntry, LedgerKind, User
from kiebot.store.wallet import LedgerError
from tests.store_fixtures import StoreDB, db_session, store_db  # noqa: F401

_ids = itertools.count(1000)


async def _user(session, balance: int = 0) -> int:  # type: ignore[no-untyped-def]
    user_id = next(_ids)
    session.add(User(id=user_id))
    await session.flush()
    if balance:
        assert await wallet.credit(session, user_id, balance, LedgerKind.GRANT, f"seed:{user_id}")
    return user_id


async def _sums(session, user_id: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    row = (
        await session.execute(
            select(func.coalesce(func.sum(LedgerEntry.delta_balance), 0), func.coalesce(func.sum(LedgerEntry.delta_held), 0))
            .where(LedgerEntry.user_id == user_id)
        )
    ).one()
    return int(row[0]), int(row[1])


async def test_credit_hold_capture_release(db_session) -> None:  # type: ignore[no-untyped-def]
    s = db_session
    u = await _user(s)
    assert await wallet.credit(s, u, 100, LedgerKind.BONUS, f"bonus:{u}", note="welcome")
    assert not await wallet.credit(s, u, 100, LedgerKind.BONUS, f"bonus:{u}")  # same key: no-op
    assert await wallet.get_balance(s, u) == (100, 0)
    assert await wallet.hold(s, u, 60, "hold:a")
    assert not await wallet.hold(s, u, 60, "hold:b")  # short: nothing written
    assert not await wallet.hold(s, u, 10, "hold:a")  # key reused
    assert await wallet.get_balance(s, u) == (40, 60)
    assert await wallet.capture(s, u, None, 60, 45, "charge:a")  # 15 goes back
    assert not await wallet.capture(s, u, None, 60, 45, "charge:a")
    assert await wallet.get_balance(s, u) == (55, 0)
    assert await wallet.hold(s, u, 50, "hold:c")
    assert await wallet.release(s, u, None, 50, "release:c")
    assert not await wallet.release(s, u, None, 50, "release:c")
    assert await wallet.get_balance(s, u) == (55, 0)
    await s.commit()
    assert await _sums(s, u) == (55, 0)
    rows = (await s.execute(select(LedgerEntry).where(LedgerEntry.user_id == u).order_by(LedgerEntry.id))).scalars().all()
    assert [(r.kind, r.delta_balance, r.delta_held) for r in rows] == [
        ("bonus", 100, 0),
        ("hold", -60, 60),
        ("charge", 15, -60),
        ("hold", -50, 50),
        ("release", 50, -50),
    ]
    assert rows[0].note == "welcome"


async def test_loaded_user_object_follows_the_ledger(db_session) -> None:  # type: ignore[no-untyped-def]
    u = await _user(db_session)
    user = await db_session.get(User, u)
    await wallet.credit(db_session, u, 30, LedgerKind.TOPUP, "t1")
    await wallet.hold(db_session, u, 10, "h1")
    assert (user.balance, user.held) == (20, 10)


async def test_bad_amounts_and_impossible_movements(db_session) -> None:  # type: ignore[no-untyped-def]
    s = db_session
    u = await _user(s, 50)
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValueError):
            await wallet.credit(s, u, bad, LedgerKind.GRANT, "x")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await wallet.hold(s, u, bad, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await wallet.credit(s, u, 5, LedgerKind.HOLD, "x")
    assert await wallet.hold(s, u, 20, "h")
    with pytest.raises(ValueError):
        await wallet.capture(s, u, None, 20, 21, "c")  # actual above held
    with pytest.raises(LedgerError):
        await wallet.release(s, u, None, 30, "r")  # more than held
    with pytest.raises(LedgerError):
        await wallet.credit(s, 999_999_999, 5, LedgerKind.GRANT, "nobody")
    # the failed movements left nothing behind and the session is still usable
    assert await wallet.capture(s, u, None, 20, 0, "c")  # nothing charged
    await s.commit()
    assert await wallet.get_balance(s, u) == (50, 0)
    assert await _sums(s, u) == (50, 0)
    assert await s.scalar(select(func.count()).where(LedgerEntry.key.in_(["x", "r", "nobody"]))) == 0


# --- property: random sequences never create or lose money -------------------------------------------------------

_op = st.one_of(
    st.tuples(st.just("credit"), st.integers(1, 100), st.integers(0, 4)),
    st.tuples(st.just("hold"), st.integers(1, 120), st.integers(0, 6)),
    st.tuples(st.just("capture"), st.integers(0, 6), st.integers(0, 100)),  # hold index, percent charged
    st.tuples(st.just("release"), st.integers(0, 6), st.just(0)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_op, max_size=25))
async def test_ledger_invariants(store_db: StoreDB, ops: list[tuple[str, int, int]]) -> None:
    async with store_db.sessionmaker() as s:
        u = await _user(s)
        await s.commit()
        balance = held = credited = captured = 0
        holds: dict[int, int] = {}  # hold index -> amount still held
        used: set[str] = set()
        for name, a, b in ops:
            if name == "credit":
                key = f"credit:{u}:{b}"
                ok = await wallet.credit(s, u, a, LedgerKind.GRANT, key)
                assert ok == (key not in used)
                if ok:
                    used.add(key)
                    balance += a
                    credited += a
            elif name == "hold":
                key = f"hold:{u}:{b}"
                ok = await wallet.hold(s, u, a, key)
                assert ok == (key not in used and a <= balance)
                if ok:
                    used.add(key)
                    balance -= a
                    held += a
                    holds[b] = a
            else:
                amount = holds.get(a)
                if amount is None:
                    continue
                key = f"settle:{u}:{a}"  # one settlement per hold; a repeat is a no-op
                if name == "capture":
                    actual = amount * b // 100
                    ok = await wallet.capture(s, u, None, amount, actual, key)
                else:
                    actual = 0
                    ok = await wallet.release(s, u, None, amount, key)
                assert ok == (key not in used)
                if ok:
                    used.add(key)
                    held -= amount
                    balance += amount - actual
                    captured += actual
            await s.commit()
            assert await wallet.get_balance(s, u) == (balance, held)
        assert balance >= 0 and held >= 0
        assert await _sums(s, u) == (balance, held)
        assert balance + held == credited - captured


# --- concurrency ------------------------------------------------------------------------------------------------


async def test_concurrent_holds_never_overdraw(store_db: StoreDB) -> None:
    async with store_db.sessionmaker.begin() as s:
        u = await _user(s, 100)

    async def one(i: int) -> bool:
        async with store_db.sessionmaker.begin() as session:
            return await wallet.hold(session, u, 30, f"hold:{u}:{i}")

    results = await asyncio.gather(*(one(i) for i in range(20)))
    assert results.count(True) == 3
    async with store_db.sessionmaker() as s:
        assert await wallet.get_balance(s, u) == (10, 90)
        assert await _sums(s, u) == (10, 90)


async def test_concurrent_same_key_applies_once(store_db: StoreDB) -> None:
    async with store_db.sessionmaker.begin() as s:
        u = await _user(s)

    async def one() -> bool:
        async with store_db.sessionmaker.begin() as session:
            return await wallet.credit(session, u, 10, LedgerKind.TOPUP, f"pay:{u}")

    results = await asyncio.gather(*(one() for _ in range(10)), return_exceptions=True)
    # on PostgreSQL a racer may wait for the winner and then see the conflict: never two credits
    assert results.count(True) == 1
    async with store_db.sessionmaker() as s:
        assert await wallet.get_balance(s, u) == (10, 0)
