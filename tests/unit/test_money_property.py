"""Property: any sequence of money operations — top-ups (seen or missed), reconciliation, confirmations (free or paid),
deliveries, failures, admin and outside refunds, promo codes, grants — each possibly retried with the same key,
keeps every ledger invariant (tests/ledger_invariants.py). SQLite only: it is about the rules, not the database."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiebot.services import generation, promo, stars
from kiebot.services.free import FreePolicy
from kiebot.services.promo import PromoError, PromoSpec
from kiebot.services.stars import RefundError, StarsRefundRejected
from kiebot.store import jobs, wallet
from kiebot.store.models import JobState, LedgerKind
from tests.ledger_invariants import ledger_problems
from tests.money_helpers import MARKUP, NANO, PACKAGES, T0, FakeStars, make_user, nano_draft
from tests.store_fixtures import StoreDB, sqlite_db  # noqa: F401

USERS, CHARGES, CONFIRMS = 2, 3, 4
FREE = FreePolicy.of(1, [NANO.id])
_runs = itertools.count()

user = st.integers(0, USERS - 1)
operation = st.one_of(
    st.tuples(st.just("topup"), user, st.integers(0, CHARGES - 1), st.integers(0, len(PACKAGES) - 1)),
    st.tuples(st.just("missed_topup"), user, st.integers(0, CHARGES - 1), st.integers(0, len(PACKAGES) - 1)),
    st.tuples(st.just("reconcile"), st.booleans()),
    st.tuples(st.just("confirm"), user, st.integers(0, CONFIRMS - 1), st.booleans()),
    st.tuples(st.just("deliver"), st.integers(0, CONFIRMS - 1), st.integers(0, 100)),
    st.tuples(st.just("fail"), st.integers(0, CONFIRMS - 1)),
    st.tuples(st.just("refund"), st.integers(0, CHARGES - 1), st.sampled_from([None, "reject", "timeout"])),
    st.tuples(st.just("refund_outside"), st.integers(0, CHARGES - 1)),
    st.tuples(st.just("promo"), user),
    st.tuples(st.just("grant"), user, st.integers(1, 40), st.integers(0, 3)),
)


@dataclass
class World:
    db: StoreDB
    run: int
    users: list[int]
    gateway: FakeStars = field(default_factory=FakeStars)
    charges: dict[int, tuple[int, str]] = field(default_factory=dict)  # charge index -> (user, charge id)
    confirms: dict[int, int] = field(default_factory=dict)  # confirm index -> job id

    def charge(self, index: int) -> str:
        return f"stx-{self.run}-{index}"


async def _topup(world: World, uid_index: int, index: int, package: int, *, seen: bool) -> None:
    uid = world.users[uid_index]
    if index not in world.charges:  # Telegram knows each charge once; the bot may be told twice
        world.charges[index] = (uid, world.charge(index))
        world.gateway.pay(uid, PACKAGES[package], world.charge(index))
    if seen:
        owner, charge = world.charges[index]
        tx = next(t for t in world.gateway.transactions if t.id == charge and t.incoming)
        async with world.db.sessionmaker() as s:
            await stars.record_payment(s, stars.PaidInvoice(owner, charge, tx.amount, tx.payload), packages=PACKAGES,
                                       referral_bonus=0)
            await s.commit()


async def _confirm(world: World, uid_index: int, index: int, free: bool) -> None:
    draft = nano_draft()
    draft.confirm_key = f"c-{world.run}-{index}"  # the same index is a second tap on the same screen
    uid = world.users[uid_index]
    async with world.db.sessionmaker() as s:
        result = await generation.start(s, model=NANO, draft=draft, user_id=uid, chat_id=uid, language="en",
                                        markup=MARKUP, free=FREE if free else None, now=T0)
        await s.commit()
    if result.job is not None:
        world.confirms[index] = result.job.id


async def _settle(world: World, index: int, percent: int | None) -> None:
    job_id = world.confirms.get(index)
    if job_id is None:
        return
    async with world.db.sessionmaker() as s:
        job = await jobs.get_job(s, job_id)
        assert job is not None
        if percent is None:
            await jobs.fail_job(s, job, error_code="generation")
        elif job.state != JobState.FAILED:
            await jobs.finish_job(s, job, charged=job.price * percent // 100)
        await s.commit()


async def _refund(world: World, index: int, failure: str | None) -> None:
    if index not in world.charges:
        return
    world.gateway.fail_next = {"reject": StarsRefundRejected("BAD"), "timeout": TimeoutError()}.get(failure or "")
    async with world.db.sessionmaker() as s:
        try:
            await stars.refund_payment(s, world.gateway, world.charges[index][1])
        except RefundError:
            await s.rollback()
    world.gateway.fail_next = None


async def _refund_outside(world: World, index: int) -> None:
    if index not in world.charges:
        return
    uid, charge = world.charges[index]
    if not any(t.id == charge and not t.incoming for t in world.gateway.transactions):
        world.gateway.refund_outside(charge)
    async with world.db.sessionmaker() as s:
        await stars.record_outside_refund(s, charge_id=charge, user_id=uid, stars=1)
        await s.commit()


async def _apply(world: World, op: tuple[Any, ...]) -> None:
    name, *args = op
    if name in ("topup", "missed_topup"):
        await _topup(world, args[0], args[1], args[2], seen=name == "topup")
    elif name == "reconcile":
        await stars.reconcile(world.db.sessionmaker, world.gateway, packages=PACKAGES, referral_bonus=0,
                              page_size=3, from_start=args[0])
    elif name == "confirm":
        await _confirm(world, *args)
    elif name == "deliver":
        await _settle(world, args[0], args[1])
    elif name == "fail":
        await _settle(world, args[0], None)
    elif name == "refund":
        await _refund(world, *args)
    elif name == "refund_outside":
        await _refund_outside(world, args[0])
    elif name == "promo":
        async with world.db.sessionmaker() as s:
            try:
                await promo.redeem(s, world.users[args[0]], f"PROMO{world.run}", now=T0)
                await s.commit()
            except PromoError:
                await s.rollback()
    elif name == "grant":
        async with world.db.sessionmaker() as s:
            uid = world.users[args[0]]
            await wallet.credit(s, uid, args[1], LedgerKind.GRANT, f"grant-{world.run}-{args[0]}-{args[2]}")
            await s.commit()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=5, max_size=30))
async def test_random_money_operations_keep_every_invariant(sqlite_db: StoreDB, ops: list[tuple[Any, ...]]) -> None:
    run = next(_runs)
    async with sqlite_db.sessionmaker() as s:
        users = [await make_user(s, bonus=20) for _ in range(USERS)]
        await promo.create(s, PromoSpec(f"PROMO{run}", 15, 2), created_by=None, now=T0)
        await s.commit()
    world = World(sqlite_db, run, users)
    for op in ops:
        await _apply(world, op)
    async with sqlite_db.sessionmaker() as s:
        problems = await ledger_problems(s)
    assert not problems, f"after {ops}:\n" + "\n".join(problems)
