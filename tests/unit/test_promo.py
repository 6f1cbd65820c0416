"""Promo codes: admin create/list/disable, one redemption per user, the use limit under concurrency."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from kiebot.services import promo
from kiebot.services.promo import PromoError, PromoRefusal, PromoSpec
from tests.ledger_invariants import assert_ledger_invariants
from tests.money_helpers import T0, balance_of, make_user
from tests.store_fixtures import StoreDB, store_db  # noqa: F401


def test_the_admin_command_is_parsed() -> None:
    assert promo.parse_spec("spring 50") == PromoSpec("SPRING", 50, 1, None)
    assert promo.parse_spec("SPRING 50 10 7") == PromoSpec("SPRING", 50, 10, 7)
    for bad in ("", "SPRING", "SPRING x", "SPRING 0", "S 50", "SPRING 50 0", "SPRING 50 1 2 3", "SPR!NG 5"):
        with pytest.raises(PromoError) as caught:
            promo.parse_spec(bad)
        assert caught.value.code is PromoRefusal.INVALID


async def test_create_list_disable_and_redeem(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        admin, user = await make_user(session), await make_user(session, bonus=5)
        info = await promo.create(session, promo.parse_spec("SPRING 50 10 7"), created_by=admin, now=T0)
        assert info.expires_at == T0 + timedelta(days=7) and info.uses == 0
        with pytest.raises(PromoError) as exists:
            await promo.create(session, PromoSpec("spring", 5), created_by=admin, now=T0)
        assert exists.value.code is PromoRefusal.EXISTS
        await promo.create(session, PromoSpec("OFF", 5), created_by=admin, now=T0)
        await session.commit()

        done = await promo.redeem(session, user, " spring ", now=T0 + timedelta(days=1))
        assert (done.code, done.amount, done.balance) == ("SPRING", 50, 55)
        await session.commit()
        with pytest.raises(PromoError) as twice:
            await promo.redeem(session, user, "SPRING", now=T0 + timedelta(days=1))
        assert twice.value.code is PromoRefusal.ALREADY_USED

        await promo.disable(session, "off")
        await session.commit()
        listed = {p.code: p for p in await promo.list_codes(session)}
        assert listed["SPRING"].uses == 1 and listed["OFF"].disabled
        with pytest.raises(PromoError) as unknown_disable:
            await promo.disable(session, "NOPE")
        assert unknown_disable.value.code is PromoRefusal.UNKNOWN
    assert await balance_of(store_db.sessionmaker, user) == (55, 0)
    async with store_db.sessionmaker() as session:
        await assert_ledger_invariants(session)


async def test_redemption_errors_are_codes(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        a, b = await make_user(session), await make_user(session)
        await promo.create(session, PromoSpec("ONCE", 10, 1), created_by=None, now=T0)
        await promo.create(session, PromoSpec("WEEK", 10, 5, 7), created_by=None, now=T0)
        await promo.create(session, PromoSpec("OFF", 10, 5), created_by=None, now=T0)
        await promo.disable(session, "OFF")
        await promo.redeem(session, a, "ONCE", now=T0)
        await session.commit()

        async def refusal(user: int, code: str, days: int = 0) -> PromoRefusal:
            with pytest.raises(PromoError) as caught:
                await promo.redeem(session, user, code, now=T0 + timedelta(days=days))
            await session.rollback()
            return caught.value.code

        assert await refusal(b, "NOPE") is PromoRefusal.UNKNOWN
        assert await refusal(b, "") is PromoRefusal.UNKNOWN
        assert await refusal(b, "ONCE") is PromoRefusal.USED_UP
        assert await refusal(a, "ONCE") is PromoRefusal.ALREADY_USED
        assert await refusal(b, "WEEK", days=8) is PromoRefusal.EXPIRED
        assert await refusal(b, "OFF") is PromoRefusal.DISABLED
    async with store_db.sessionmaker() as session:
        await assert_ledger_invariants(session)


async def test_twenty_users_at_once_on_a_code_with_five_uses(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        users = [await make_user(session) for _ in range(20)]
        await promo.create(session, PromoSpec("RUSH", 30, 5), created_by=None, now=T0)
        await session.commit()

    async def redeem(user: int) -> PromoRefusal | None:
        async with store_db.sessionmaker() as session:
            try:
                await promo.redeem(session, user, "RUSH", now=T0)
            except PromoError as exc:
                return exc.code
            await session.commit()
            return None

    outcomes = await asyncio.gather(*(redeem(u) for u in users))
    assert outcomes.count(None) == 5 and outcomes.count(PromoRefusal.USED_UP) == 15
    balances = [await balance_of(store_db.sessionmaker, u) for u in users]
    assert sorted(b for b, _ in balances) == [0] * 15 + [30] * 5
    async with store_db.sessionmaker() as session:
        assert (await promo.list_codes(session))[0].uses == 5
        await assert_ledger_invariants(session)


async def test_one_user_redeeming_at_once_from_two_chats_gets_it_once(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        user = await make_user(session)
        await promo.create(session, PromoSpec("TWICE", 30, 10), created_by=None, now=T0)
        await session.commit()

    async def redeem() -> bool:
        async with store_db.sessionmaker() as session:
            try:
                await promo.redeem(session, user, "TWICE", now=T0)
            except PromoError as exc:
                assert exc.code is PromoRefusal.ALREADY_USED
                return False
            await session.commit()
            return True

    assert sorted(await asyncio.gather(*(redeem() for _ in range(6)))) == [False] * 5 + [True]
    assert await balance_of(store_db.sessionmaker, user) == (30, 0)
    async with store_db.sessionmaker() as session:
        assert (await promo.list_codes(session))[0].uses == 1
        await assert_ledger_invariants(session)
