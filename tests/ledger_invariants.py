"""Money invariants, checked against the database after any scenario:

    from tests.ledger_invariants import assert_ledger_invariants
    async with store_db.sessionmaker() as session:
        await assert_ledger_invariants(session)

- every user's balance and held equal the sums of their ledger rows (and are never negative);
- no hold outlives its job: a settled job has no net held amount, an open paid job holds exactly its price;
- no job is held, charged or released twice, and never both charged and released;
- a free job holds nothing and used exactly one free try, given back once if it failed; free-try counters match
  the ledger;
- a paid payment is credited exactly once (its amount), a refunded one is taken back at most once in all;
- promo use counters match their redemptions; a rewarded referral paid both sides exactly once.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.services.stars import topup_key
from kiebot.store.models import (
    OPEN_STATES,
    FreeTries,
    Job,
    LedgerEntry,
    LedgerKind,
    Payment,
    PaymentState,
    PromoCode,
    Referral,
    User,
)


async def ledger_problems(session: AsyncSession) -> list[str]:
    """Every broken invariant, in words (empty when all hold)."""
    ledger = list((await session.execute(select(LedgerEntry).order_by(LedgerEntry.id))).scalars())
    problems: list[str] = []
    problems += await _user_sums(session, ledger)
    problems += await _jobs(session, ledger)
    problems += await _payments(session, ledger)
    problems += await _promos_and_referrals(session, ledger)
    problems += await _free_tries(session, ledger)
    return problems


async def assert_ledger_invariants(session: AsyncSession) -> None:
    problems = await ledger_problems(session)
    assert not problems, "ledger invariants broken:\n" + "\n".join(problems)


async def _user_sums(session: AsyncSession, ledger: list[LedgerEntry]) -> list[str]:
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in ledger:
        sums[row.user_id][0] += row.delta_balance
        sums[row.user_id][1] += row.delta_held
    problems = []
    for user in (await session.execute(select(User).execution_options(populate_existing=True))).scalars():
        balance, held = sums.get(user.id, [0, 0])
        if (user.balance, user.held) != (balance, held):
            problems.append(f"user {user.id}: balance/held {user.balance}/{user.held}, ledger says {balance}/{held}")
        if user.balance < 0 or user.held < 0:
            problems.append(f"user {user.id}: negative balance or held")
    return problems


async def _jobs(session: AsyncSession, ledger: list[LedgerEntry]) -> list[str]:
    by_job: dict[int, list[LedgerEntry]] = defaultdict(list)
    for row in ledger:
        if row.job_id is not None:
            by_job[row.job_id].append(row)
    open_states = {s.value for s in OPEN_STATES}
    problems = []
    for job in (await session.execute(select(Job).execution_options(populate_existing=True))).scalars():
        rows = by_job.get(job.id, [])
        kinds = Counter(r.kind for r in rows)
        held = sum(r.delta_held for r in rows)
        expected_held = job.price if job.state in open_states else 0
        if held != expected_held:
            problems.append(f"job {job.id} ({job.state}): net held {held}, expected {expected_held}")
        if kinds[LedgerKind.HOLD] > 1 or kinds[LedgerKind.CHARGE] + kinds[LedgerKind.RELEASE] > 1:
            problems.append(f"job {job.id}: held/settled more than once {dict(kinds)}")
        if job.free_try and (job.price != 0 or kinds[LedgerKind.FREE] != 1 or kinds[LedgerKind.FREE_BACK] > 1):
            problems.append(f"job {job.id}: a free job with price {job.price} and rows {dict(kinds)}")
        if job.free_try and kinds[LedgerKind.FREE_BACK] != (1 if job.state == "failed" else 0):
            problems.append(f"job {job.id}: {job.state} free job gave its try back {kinds[LedgerKind.FREE_BACK]} times")
        charged = -sum(r.delta_balance + r.delta_held for r in rows if r.kind == LedgerKind.CHARGE)
        if job.state == "done" and job.price > 0 and charged != job.charged:
            problems.append(f"job {job.id}: charged {job.charged}, ledger says {charged}")
    return problems


async def _payments(session: AsyncSession, ledger: list[LedgerEntry]) -> list[str]:
    keyed = {row.key: row for row in ledger}
    refunds: dict[str, int] = defaultdict(int)
    for row in ledger:
        if row.kind in (LedgerKind.REFUND, LedgerKind.REFUND_UNDO):
            refunds[row.key.split(":", 2)[-1]] += row.delta_balance
    problems = []
    for payment in (await session.execute(select(Payment).execution_options(populate_existing=True))).scalars():
        topup = keyed.get(topup_key(payment.charge_id))
        credited = topup.delta_balance if topup is not None else 0
        if credited != payment.credits or (payment.credits > 0 and topup is None):
            problems.append(f"payment {payment.charge_id}: credited {credited}, expected {payment.credits}")
        taken = -refunds.get(payment.charge_id, 0)
        if payment.state == PaymentState.PAID and taken != 0:
            problems.append(f"payment {payment.charge_id}: paid but {taken} taken back")
        if not 0 <= taken <= payment.credits:
            problems.append(f"payment {payment.charge_id}: {taken} taken back of {payment.credits}")
        if payment.state == PaymentState.REFUNDED and (payment.refund_debited or 0) != taken:
            problems.append(f"payment {payment.charge_id}: refund_debited {payment.refund_debited}, ledger {taken}")
    return problems


async def _promos_and_referrals(session: AsyncSession, ledger: list[LedgerEntry]) -> list[str]:
    promo_uses = Counter(row.key.split(":")[1] for row in ledger if row.kind == LedgerKind.PROMO)
    problems = []
    for promo in (await session.execute(select(PromoCode).execution_options(populate_existing=True))).scalars():
        if promo.uses != promo_uses.get(promo.code, 0) or promo.uses > promo.max_uses:
            problems.append(f"promo {promo.code}: uses {promo.uses}/{promo.max_uses}, ledger {promo_uses[promo.code]}")
    rewards = Counter(row.key.rsplit(":", 1)[0] for row in ledger if row.kind == LedgerKind.REFERRAL)
    for ref in (await session.execute(select(Referral).execution_options(populate_existing=True))).scalars():
        expected = 2 if ref.rewarded_at is not None else 0
        count = sum(n for key, n in rewards.items() if key == f"referral:{ref.user_id}")
        if count != expected:
            problems.append(f"referral of {ref.user_id}: {count} bonus rows, expected {expected}")
    return problems


async def _free_tries(session: AsyncSession, ledger: list[LedgerEntry]) -> list[str]:
    net: dict[tuple[int, Any], int] = defaultdict(int)
    for row in ledger:
        if row.kind == LedgerKind.FREE:
            net[(row.user_id, row.note)] += 1
        elif row.kind == LedgerKind.FREE_BACK:
            net[(row.user_id, row.note)] -= 1
    problems = []
    counters = {(r.user_id, r.day.isoformat()): r.used for r in (await session.execute(select(FreeTries))).scalars()}
    for key in set(net) | set(counters):
        if counters.get(key, 0) != net.get(key, 0):
            problems.append(f"free tries {key}: counter {counters.get(key, 0)}, ledger {net.get(key, 0)}")
    return problems
