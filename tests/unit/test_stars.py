"""Telegram Stars top-ups: pre-checkout, crediting once, refunds (admin and outside), reconciliation, packages."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from kiebot.services import stars
from kiebot.services.stars import (
    Decline,
    PaidInvoice,
    PaymentSource,
    RefundError,
    RefundRefusal,
    StarsPackage,
    StarsRefundRejected,
    invoice_for,
    package_for,
    record_payment,
    refund_payment,
)
from kiebot.store import users
from kiebot.store.models import LedgerEntry, LedgerKind, Payment, PaymentState
from tests.ledger_invariants import assert_ledger_invariants
from tests.money_helpers import PACKAGES, FakeStars, balance_of, make_user, new_id, paid, start_nano
from tests.store_fixtures import StoreDB, store_db  # noqa: F401


async def _check(db: StoreDB) -> None:
    async with db.sessionmaker() as session:
        await assert_ledger_invariants(session)


# --- packages and pre-checkout ---------------------------------------------------------------------------------
def test_the_smallest_package_that_covers_a_shortfall() -> None:
    assert package_for(1, PACKAGES) == StarsPackage(50, 100)
    assert package_for(100, PACKAGES) == StarsPackage(50, 100)
    assert package_for(101, PACKAGES) == StarsPackage(100, 220)
    assert package_for(601, PACKAGES) == StarsPackage(500, 1300)
    assert package_for(1301, PACKAGES) is None


def test_an_invoice_names_its_package_and_a_nonce() -> None:
    one, two = invoice_for(PACKAGES[1]), invoice_for(PACKAGES[1])
    assert one.currency == "XTR" and one.stars == 100 and one.credits == 220
    assert one.payload != two.payload and len(one.payload.encode()) <= 128
    assert stars.parse_payload(one.payload) == PACKAGES[1]
    assert stars.parse_payload("topup:1:2") is None and stars.parse_payload("something else") is None


async def test_pre_checkout_checks_the_package_and_the_user(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        good, banned = await make_user(session), await make_user(session)
        await users.set_banned(session, banned, True)
        await session.commit()
        payload = invoice_for(PACKAGES[0]).payload

        async def answer(user_id: int, payload: str = payload, currency: str = "XTR", amount: int = 50):
            return await stars.pre_checkout(session, user_id=user_id, payload=payload, currency=currency,
                                            total_amount=amount, packages=PACKAGES)

        assert (await answer(good)).ok
        assert (await answer(banned)).reason is Decline.BANNED
        assert (await answer(new_id())).reason is Decline.UNKNOWN_USER
        assert (await answer(good, payload="hack")).reason is Decline.UNKNOWN_PACKAGE
        assert (await answer(good, payload="topup:50:9999:x")).reason is Decline.PACKAGE_CHANGED
        assert (await answer(good, amount=49)).reason is Decline.WRONG_AMOUNT
        assert (await answer(good, currency="USD")).reason is Decline.WRONG_CURRENCY


# --- successful_payment --------------------------------------------------------------------------------------------
async def test_a_payment_delivered_twice_is_credited_once(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session, bonus=10)
        await session.commit()
        invoice = paid(uid, PACKAGES[1])
        first = await record_payment(session, invoice, packages=PACKAGES, referral_bonus=0)
        await session.commit()
        again = await record_payment(session, invoice, packages=PACKAGES, referral_bonus=0)
        await session.commit()
    assert (first.credited, first.balance, first.duplicate) == (220, 230, False)
    assert (again.credited, again.balance, again.duplicate) == (220, 230, True)
    assert await balance_of(store_db.sessionmaker, uid) == (230, 0)
    await _check(store_db)


async def test_the_same_payment_from_two_replicas_at_once_is_credited_once(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session)
        await session.commit()
    invoice = paid(uid, PACKAGES[0])

    async def deliver() -> bool:
        async with store_db.sessionmaker() as session:
            receipt = await record_payment(session, invoice, packages=PACKAGES, referral_bonus=0)
            await session.commit()
            return receipt.duplicate

    duplicates = await asyncio.gather(*(deliver() for _ in range(8)))
    assert sorted(duplicates) == [False] + [True] * 7
    assert await balance_of(store_db.sessionmaker, uid) == (100, 0)
    await _check(store_db)


async def test_the_agreed_package_is_credited_even_if_the_settings_changed(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session)
        invoice = paid(uid, StarsPackage(50, 120))  # sold before the operator changed the package
        receipt = await record_payment(session, invoice, packages=PACKAGES, referral_bonus=0)
        await session.commit()
    assert receipt.credited == 120


# --- refunds -------------------------------------------------------------------------------------------------------
async def _paid_user(db: StoreDB, gateway: FakeStars, package: StarsPackage = PACKAGES[0]) -> tuple[int, str]:
    async with db.sessionmaker() as session:
        uid = await make_user(session)
        invoice = gateway.pay(uid, package)
        await record_payment(session, invoice, packages=PACKAGES, referral_bonus=0)
        await session.commit()
    return uid, invoice.charge_id


async def test_an_admin_refund_then_a_second_one_is_refused(store_db: StoreDB) -> None:
    gateway = FakeStars(store_db.sessionmaker)
    uid, charge = await _paid_user(store_db, gateway)
    async with store_db.sessionmaker() as session:
        receipt = await refund_payment(session, gateway, charge)
        assert (receipt.debited, receipt.balance, receipt.stars) == (100, 0, 50)
        with pytest.raises(RefundError) as again:
            await refund_payment(session, gateway, charge)
        assert again.value.code is RefundRefusal.ALREADY_REFUNDED
        with pytest.raises(RefundError) as unknown:
            await refund_payment(session, gateway, "no-such-charge")
        assert unknown.value.code is RefundRefusal.UNKNOWN_CHARGE
    assert gateway.refund_calls == [(uid, charge)]  # the refused ones never reached Telegram
    assert await balance_of(store_db.sessionmaker, uid) == (0, 0)
    await _check(store_db)


async def test_a_refund_is_refused_when_the_balance_no_longer_covers_it(store_db: StoreDB) -> None:
    gateway = FakeStars(store_db.sessionmaker)
    uid, charge = await _paid_user(store_db, gateway)
    async with store_db.sessionmaker() as session:
        assert (await start_nano(session, uid)).job is not None  # 8 💎 held: 92 left
        await session.commit()
        with pytest.raises(RefundError) as refused:
            await refund_payment(session, gateway, charge)
    assert refused.value.code is RefundRefusal.BALANCE_TOO_LOW
    assert gateway.refund_calls == []
    assert await balance_of(store_db.sessionmaker, uid) == (92, 8)
    async with store_db.sessionmaker() as session:
        payment = (await session.execute(select(Payment).where(Payment.charge_id == charge))).scalar_one()
        assert payment.state == PaymentState.PAID and payment.refund_attempt == 0
    await _check(store_db)


async def test_a_refund_telegram_rejects_gives_the_amount_back(store_db: StoreDB) -> None:
    gateway = FakeStars(store_db.sessionmaker)
    uid, charge = await _paid_user(store_db, gateway)
    gateway.fail_next = StarsRefundRejected("CHARGE_NOT_FOUND")
    async with store_db.sessionmaker() as session:
        with pytest.raises(RefundError) as rejected:
            await refund_payment(session, gateway, charge)
        assert rejected.value.code is RefundRefusal.REJECTED and rejected.value.detail == "CHARGE_NOT_FOUND"
        assert await balance_of(store_db.sessionmaker, uid) == (100, 0)
        receipt = await refund_payment(session, gateway, charge)  # a later try works: a new attempt, new keys
    assert receipt.debited == 100
    assert await balance_of(store_db.sessionmaker, uid) == (0, 0)
    await _check(store_db)


async def test_a_refund_without_an_answer_keeps_the_amount_back_until_settled(store_db: StoreDB) -> None:
    gateway = FakeStars(store_db.sessionmaker)
    uid, charge = await _paid_user(store_db, gateway)
    gateway.fail_next = TimeoutError()
    async with store_db.sessionmaker() as session:
        with pytest.raises(RefundError) as uncertain:
            await refund_payment(session, gateway, charge)
        assert uncertain.value.code is RefundRefusal.UNCERTAIN
        assert await balance_of(store_db.sessionmaker, uid) == (0, 0)  # kept back, not spendable meanwhile
        receipt = await refund_payment(session, gateway, charge)  # the retry asks Telegram again, no second debit
    assert receipt.debited == 100 and len(gateway.refund_calls) == 2
    assert await balance_of(store_db.sessionmaker, uid) == (0, 0)
    await _check(store_db)


# --- reconciliation ------------------------------------------------------------------------------------------------
async def test_reconciliation_credits_a_missed_payment_once_and_books_an_outside_refund(store_db: StoreDB) -> None:
    gateway = FakeStars(store_db.sessionmaker)
    async with store_db.sessionmaker() as session:
        seen, missed, spender = await make_user(session), await make_user(session), await make_user(session)
        await session.commit()
        await record_payment(session, gateway.pay(seen), packages=PACKAGES, referral_bonus=0)
        await session.commit()
    missed_charge = gateway.pay(missed, PACKAGES[1]).charge_id  # the bot crashed before booking it
    spent = gateway.pay(spender)
    async with store_db.sessionmaker() as session:
        await record_payment(session, spent, packages=PACKAGES, referral_bonus=0)
        await session.commit()
        for _ in range(5):
            assert (await start_nano(session, spender)).job is not None  # 40 of the 100 💎 spent
        await session.commit()
    gateway.refund_outside(spent.charge_id)

    report = await stars.reconcile(store_db.sessionmaker, gateway, packages=PACKAGES, referral_bonus=0, page_size=2)
    assert [r.charge_id for r in report.credited] == [missed_charge] and report.credited[0].credited == 220
    assert [(r.charge_id, r.debited, r.uncovered) for r in report.refunds] == [(spent.charge_id, 60, 40)]
    assert report.scanned == 4
    assert await balance_of(store_db.sessionmaker, missed) == (220, 0)
    assert await balance_of(store_db.sessionmaker, spender) == (0, 40)  # never below zero; the held jobs go on

    again = await stars.reconcile(store_db.sessionmaker, gateway, packages=PACKAGES, referral_bonus=0)
    assert again.scanned == 0 and not again.credited and not again.refunds  # from the checkpoint on
    full = await stars.reconcile(store_db.sessionmaker, gateway, packages=PACKAGES, referral_bonus=0, from_start=True)
    assert full.scanned == 4 and not full.credited and not full.refunds  # everything booked once
    assert await balance_of(store_db.sessionmaker, missed) == (220, 0)
    async with store_db.sessionmaker() as session:
        row = (await session.execute(select(Payment).where(Payment.charge_id == spent.charge_id))).scalar_one()
        assert (row.state, row.refund_debited, row.refund_uncovered) == (PaymentState.REFUNDED, 60, 40)
        payment = (await session.execute(select(Payment).where(Payment.charge_id == missed_charge))).scalar_one()
        assert payment.source == PaymentSource.RECONCILE
        note = (await session.execute(select(LedgerEntry.note).where(LedgerEntry.kind == LedgerKind.REFUND))).scalar()
        assert "up to 100" in note
    await _check(store_db)


async def test_a_refunded_payment_message_is_booked_once(store_db: StoreDB) -> None:
    gateway = FakeStars()
    uid, charge = await _paid_user(store_db, gateway)
    async with store_db.sessionmaker() as session:
        first = await stars.record_outside_refund(session, charge_id=charge, user_id=uid, stars=50)
        again = await stars.record_outside_refund(session, charge_id=charge, user_id=uid, stars=50)
        never_booked = await stars.record_outside_refund(session, charge_id="unseen", user_id=uid, stars=50)
        await session.commit()
    assert (first.debited, first.uncovered, first.duplicate) == (100, 0, False)
    assert again.duplicate and not never_booked.known
    async with store_db.sessionmaker() as session:  # the unseen payment shows up later: nothing to credit
        late = PaidInvoice(uid, "unseen", 50, invoice_for(PACKAGES[0]).payload)
        assert (await record_payment(session, late, packages=PACKAGES, referral_bonus=0)).duplicate
        await session.commit()
    assert await balance_of(store_db.sessionmaker, uid) == (0, 0)
    await _check(store_db)


async def test_simultaneous_top_ups_and_spending_leave_exact_sums(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session, 80)
        await session.commit()
    invoices = [paid(uid, PACKAGES[0]) for _ in range(10)]

    async def top_up(invoice: PaidInvoice) -> None:
        async with store_db.sessionmaker() as session:
            await record_payment(session, invoice, packages=PACKAGES, referral_bonus=0)
            await session.commit()

    async def spend() -> bool:
        async with store_db.sessionmaker() as session:
            result = await start_nano(session, uid)
            await session.commit()
            return result.job is not None

    outcomes = await asyncio.gather(*(top_up(i) for i in invoices + invoices), *(spend() for _ in range(30)))
    started = sum(1 for o in outcomes if o is True)
    balance, held = await balance_of(store_db.sessionmaker, uid)
    assert held == 8 * started and balance + held == 80 + 10 * 100
    await _check(store_db)
