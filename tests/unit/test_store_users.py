"""Users: race-safe get-or-create, welcome bonus once, language."""
from __future__ import annotations

import asyncio
import itertools

from sqlalchemy import func, select

from kiebot.store import users, wallet
from kiebot.store.models import LedgerEntry, User
from tests.store_fixtures import StoreDB, db_session, store_db  # noqa: F401

_ids = itertools.count(5000)


async def test_get_or_create(db_session) -> None:  # type: ignore[no-untyped-def]
    uid = next(_ids)
    user, created = await users.get_or_create_user(db_session, uid, username="ann", first_name="Ann", welcome_bonus=100)
    assert created and user.id == uid and user.balance == 100 and user.held == 0 and user.language is None
    await db_session.commit()
    user, created = await users.get_or_create_user(db_session, uid, username="ann2", first_name="Ann", welcome_bonus=100)
    assert not created and user.balance == 100 and user.username == "ann2"
    await users.set_language(db_session, uid, "en")
    await db_session.commit()
    assert (await db_session.get(User, uid, populate_existing=True)).language == "en"
    assert user.created_at.tzinfo is not None


async def test_zero_bonus_writes_no_ledger_row(db_session) -> None:  # type: ignore[no-untyped-def]
    uid = next(_ids)
    user, created = await users.get_or_create_user(db_session, uid, username=None, first_name=None, welcome_bonus=0)
    assert created and user.balance == 0
    assert await db_session.scalar(select(func.count()).where(LedgerEntry.user_id == uid)) == 0


async def test_racing_first_updates_give_one_bonus(store_db: StoreDB) -> None:
    uid = next(_ids)

    async def one() -> bool:
        async with store_db.sessionmaker.begin() as session:
            _, created = await users.get_or_create_user(session, uid, username="x", first_name="X", welcome_bonus=50)
            return created

    results = await asyncio.gather(*(one() for _ in range(8)))
    assert results.count(True) == 1
    async with store_db.sessionmaker() as s:
        assert await wallet.get_balance(s, uid) == (50, 0)
        assert await s.scalar(select(func.count()).where(LedgerEntry.user_id == uid)) == 1
