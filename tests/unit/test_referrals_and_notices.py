"""Referral bonus once on the first payment; low-balance notice once per crossing; the ledger as CSV."""
from __future__ import annotations

import asyncio
import csv
import io

import pytest

from kiebot.services import balance, referrals, stars
from kiebot.services.referrals import ReferralError, ReferralRefusal
from kiebot.store import jobs, users, wallet
from kiebot.store.models import LedgerKind
from tests.ledger_invariants import assert_ledger_invariants
from tests.money_helpers import CATALOG, MARKUP, PACKAGES, balance_of, make_user, new_id, paid, start_nano
from tests.store_fixtures import StoreDB, store_db  # noqa: F401

BONUS = 50


async def _newcomer(session, welcome: int = 100) -> int:  # type: ignore[no-untyped-def]
    uid = new_id()
    _, created = await users.get_or_create_user(session, uid, username=None, first_name=None, welcome_bonus=welcome)
    assert created
    return uid


# --- referrals -----------------------------------------------------------------------------------------------------
def test_the_link_payload_round_trips() -> None:
    assert referrals.link_payload(42) == "ref_42" and referrals.parse_payload("ref_42") == 42
    assert referrals.parse_payload("model_nano") is None and referrals.parse_payload("ref_x") is None


async def test_both_sides_get_the_bonus_once_on_the_first_payment(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        referrer = await make_user(session)
        invitee = await _newcomer(session)
        assert await referrals.attach_referrer(session, user_id=invitee, payload=f"ref_{referrer}", new_user=True)
        await session.commit()
        first = await stars.record_payment(session, paid(invitee), packages=PACKAGES, referral_bonus=BONUS)
        second = await stars.record_payment(session, paid(invitee), packages=PACKAGES, referral_bonus=BONUS)
        await session.commit()
    assert first.referral == referrals.ReferralReward(referrer, invitee, BONUS) and second.referral is None
    assert first.balance == 100 + 100 + BONUS
    assert await balance_of(store_db.sessionmaker, referrer) == (BONUS, 0)
    assert await balance_of(store_db.sessionmaker, invitee) == (100 + 200 + BONUS, 0)
    async with store_db.sessionmaker() as session:
        await assert_ledger_invariants(session)


async def test_simultaneous_first_payments_reward_once(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        referrer = await make_user(session)
        invitee = await _newcomer(session)
        await referrals.attach_referrer(session, user_id=invitee, payload=f"ref_{referrer}", new_user=True)
        await session.commit()

    async def pay() -> None:
        async with store_db.sessionmaker() as session:
            await stars.record_payment(session, paid(invitee), packages=PACKAGES, referral_bonus=BONUS)
            await session.commit()

    await asyncio.gather(*(pay() for _ in range(6)))
    assert await balance_of(store_db.sessionmaker, referrer) == (BONUS, 0)
    async with store_db.sessionmaker() as session:
        await assert_ledger_invariants(session)


async def test_no_referral_for_self_old_users_strangers_or_twice(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        referrer = await make_user(session)
        other = await make_user(session)

        async def refusal(uid: int, payload: str, new_user: bool = True) -> ReferralRefusal:
            with pytest.raises(ReferralError) as caught:
                await referrals.attach_referrer(session, user_id=uid, payload=payload, new_user=new_user)
            return caught.value.code

        me = await _newcomer(session)
        assert await refusal(me, f"ref_{me}") is ReferralRefusal.SELF
        assert await refusal(me, "ref_999999999999") is ReferralRefusal.UNKNOWN_REFERRER
        assert await refusal(me, "hello") is ReferralRefusal.NOT_A_REFERRAL
        old = await _newcomer(session)
        assert await refusal(old, f"ref_{referrer}", new_user=False) is ReferralRefusal.NOT_NEW
        busy = await _newcomer(session)
        await wallet.credit(session, busy, 5, LedgerKind.GRANT, f"g:{busy}")  # did something already
        assert await refusal(busy, f"ref_{referrer}") is ReferralRefusal.NOT_NEW
        assert await referrals.attach_referrer(session, user_id=me, payload=f"ref_{referrer}", new_user=True)
        assert await refusal(me, f"ref_{other}") is ReferralRefusal.ALREADY
        await session.commit()
        receipt = await stars.record_payment(session, paid(old), packages=PACKAGES, referral_bonus=BONUS)
        await session.commit()
    assert receipt.referral is None
    assert await balance_of(store_db.sessionmaker, referrer) == (0, 0)


# --- low balance ---------------------------------------------------------------------------------------------------
async def test_a_low_balance_notice_once_per_crossing(store_db: StoreDB) -> None:
    threshold = 10
    async with store_db.sessionmaker() as session:
        uid = await make_user(session, 30)
        await session.commit()

        async def after_confirm() -> bool:
            assert (await start_nano(session, uid)).job is not None  # 8 💎 each
            told = await balance.should_notify_low_balance(session, uid, threshold)
            await session.commit()
            return told

        assert [await after_confirm(), await after_confirm()] == [False, False]  # 22, 14
        assert await after_confirm() is True  # 6: crossed
        assert await balance.should_notify_low_balance(session, uid, threshold) is False  # told already
        await wallet.credit(session, uid, 100, LedgerKind.GRANT, f"more:{uid}")  # nobody asks after the top-up
        await session.commit()
        for job in await jobs.recent_jobs(session, uid, limit=3):  # the runs fail: released, 130 back
            await jobs.fail_job(session, job, error_code="generation")
        await session.commit()
        spent = [await after_confirm() for _ in range(16)]  # 122 … 10, then 2: crossed again
        assert spent == [False] * 15 + [True]
        assert await balance.should_notify_low_balance(session, uid, threshold) is False


async def test_only_one_replica_is_told_to_notify(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session, 10)
        assert (await start_nano(session, uid)).job is not None
        await session.commit()

    async def check() -> bool:
        async with store_db.sessionmaker() as session:
            told = await balance.should_notify_low_balance(session, uid, 5)
            await session.commit()
            return told

    assert sorted(await asyncio.gather(*(check() for _ in range(6)))) == [False] * 5 + [True]


async def test_a_user_never_above_the_threshold_is_not_told(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session, 3)
        assert not await balance.should_notify_low_balance(session, uid, 5)
        assert not await balance.should_notify_low_balance(session, uid, None)


def test_the_default_threshold_is_the_cheapest_price() -> None:
    cheapest = balance.cheapest_price(CATALOG.models, MARKUP)
    assert cheapest is not None and cheapest >= 1
    assert balance.low_balance_threshold(None, cheapest) == cheapest
    assert balance.low_balance_threshold(25, cheapest) == 25


# --- ledger export -------------------------------------------------------------------------------------------------
async def test_a_users_ledger_as_csv(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await _newcomer(session, welcome=20)
        await wallet.credit(session, uid, 5, LedgerKind.GRANT, f"g:{uid}", note="=HYPERLINK(\"x\")")
        job = (await start_nano(session, uid)).job
        await jobs.finish_job(session, job, charged=6)
        await session.commit()
        text = await balance.ledger_csv(session, uid)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["date", "kind", "amount", "balance_delta", "held_delta", "note", "key"]
    assert [r[1:5] for r in rows[1:]] == [
        ["bonus", "20", "20", "0"], ["grant", "5", "5", "0"], ["hold", "8", "-8", "8"], ["charge", "6", "2", "-8"],
    ]
    assert rows[2][5] == "'=HYPERLINK(\"x\")" and rows[3][6] == f"hold:{job.id}"
    assert rows[1][0].startswith("20") and "T" in rows[1][0]
