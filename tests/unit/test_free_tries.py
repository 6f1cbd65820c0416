"""Free daily tries: used before the balance, hold nothing, given back when the run fails, counted per UTC day."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from kiebot.services import generation
from kiebot.services.free import FreePolicy, free_left, give_back_free_try
from kiebot.store import jobs
from kiebot.store.models import LedgerEntry, LedgerKind
from tests.ledger_invariants import assert_ledger_invariants
from tests.money_helpers import MARKUP, NANO, NANO_PRICE, T0, balance_of, make_user, nano_draft, start_nano
from tests.store_fixtures import StoreDB, store_db  # noqa: F401

FREE = FreePolicy.of(2, [NANO.id])


async def test_free_tries_come_first_then_the_balance(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session, 20)
        assert await free_left(session, uid, NANO.id, FREE, now=T0) == 2
        assert await free_left(session, uid, "other/model", FREE, now=T0) == 0
        first = await start_nano(session, uid, free=FREE, now=T0)
        second = await start_nano(session, uid, free=FREE, now=T0)
        third = await start_nano(session, uid, free=FREE, now=T0)
        await session.commit()
        assert first.free and second.free and not third.free
        assert first.job.price == 0 and first.job.free_try and third.job.price == NANO_PRICE
        assert await free_left(session, uid, NANO.id, FREE, now=T0) == 0
        assert await free_left(session, uid, NANO.id, FREE, now=T0 + timedelta(days=1)) == 2  # a new UTC day
        rows = (await session.execute(select(LedgerEntry).where(LedgerEntry.job_id == first.job.id))).scalars().all()
        assert [(r.kind, r.delta_balance, r.delta_held, r.note) for r in rows] == [("free", 0, 0, "2030-01-01")]
    assert await balance_of(store_db.sessionmaker, uid) == (20 - NANO_PRICE, NANO_PRICE)
    async with store_db.sessionmaker() as session:
        await assert_ledger_invariants(session)


async def test_a_failed_free_run_gives_the_try_back_once(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session)
        result = await start_nano(session, uid, free=FREE, now=T0)
        await session.commit()
        assert result.free and await free_left(session, uid, NANO.id, FREE, now=T0) == 1
        job = await jobs.get_job(session, result.job.id)
        assert await jobs.fail_job(session, job, error_code="generation")  # the engine's failure path
        await session.commit()
        assert await free_left(session, uid, NANO.id, FREE, now=T0) == 2
        assert not await jobs.fail_job(session, job, error_code="generation")
        assert not await give_back_free_try(session, job)  # never twice
        await session.commit()
        assert await free_left(session, uid, NANO.id, FREE, now=T0) == 2
        kinds = (await session.execute(
            select(LedgerEntry.kind).where(LedgerEntry.job_id == job.id).order_by(LedgerEntry.id))).scalars().all()
        assert kinds == [LedgerKind.FREE, LedgerKind.FREE_BACK]
    async with store_db.sessionmaker() as session:
        await assert_ledger_invariants(session)


async def test_a_delivered_free_run_keeps_its_try_and_charges_nothing(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session, 5)
        result = await start_nano(session, uid, free=FREE, now=T0)
        job = await jobs.get_job(session, result.job.id)
        assert await jobs.finish_job(session, job, charged=0)
        await session.commit()
        assert not await give_back_free_try(session, job)  # only a failed run gives its try back
        assert await free_left(session, uid, NANO.id, FREE, now=T0) == 1
    assert await balance_of(store_db.sessionmaker, uid) == (5, 0)


async def test_a_second_tap_on_the_same_confirmation_uses_no_second_try(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session)
        draft = nano_draft()
        kwargs = dict(model=NANO, draft=draft, user_id=uid, chat_id=uid, language="en", markup=MARKUP, free=FREE,
                      now=T0)
        assert (await generation.start(session, **kwargs)).free
        assert (await generation.start(session, **kwargs)).duplicate
        await session.commit()
        assert await free_left(session, uid, NANO.id, FREE, now=T0) == 1


async def test_simultaneous_confirms_never_use_more_free_tries_than_a_day_has(store_db: StoreDB) -> None:
    async with store_db.sessionmaker() as session:
        uid = await make_user(session)  # no balance: only free tries can start a job
        await session.commit()

    async def confirm() -> bool:
        async with store_db.sessionmaker() as session:
            result = await start_nano(session, uid, free=FREE, now=T0)
            await session.commit()
            return result.free

    assert sorted(await asyncio.gather(*(confirm() for _ in range(12)))) == [False] * 10 + [True] * 2
    async with store_db.sessionmaker() as session:
        assert await free_left(session, uid, NANO.id, FREE, now=T0) == 0
        await assert_ledger_invariants(session)
