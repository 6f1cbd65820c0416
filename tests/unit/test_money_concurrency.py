"""Confirmations racing for one balance: exactly as many holds as the balance covers, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

from kiebot.services.stars import package_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.money_helpers import NANO_PRICE, PACKAGES, balance_of, make_user, start_nano
from tests.store_fixtures import StoreDB, store_db  # noqa: F401


async def test_fifty_simultaneous_confirms_on_a_balance_for_ten_hold_exactly_ten(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session, 10 * NANO_PRICE)
        await session.commit()

    async def confirm() -> int:
        async with store_db.sessionmaker() as session:
            result = await start_nano(session, uid)
            await session.commit()
            return -result.shortfall if result.job is None else 1

    outcomes = await asyncio.gather(*(confirm() for _ in range(50)))
    assert outcomes.count(1) == 10
    assert sorted(set(outcomes) - {1}) == [-NANO_PRICE]  # each refused one misses a whole price
    assert package_for(NANO_PRICE, PACKAGES) == PACKAGES[0]
    assert await balance_of(store_db.sessionmaker, uid) == (0, 10 * NANO_PRICE)
    async with store_db.sessionmaker() as session:
        await assert_ledger_invariants(session)
