"""The job repository: idempotent create with hold, leases, per-user slots, settlement, chat throttle."""
from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kiebot.store import jobs, users, wallet
from kiebot.store.jobs import NotEnoughBalance
from kiebot.store.models import Job, JobState, LedgerEntry
from tests.store_fixtures import StoreDB, db_session, store_db  # noqa: F401

_ids = itertools.count(7000)
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


async def _user(session, balance: int = 1000) -> int:  # type: ignore[no-untyped-def]
    uid = next(_ids)
    await users.get_or_create_user(session, uid, username=None, first_name=None, welcome_bonus=balance)
    return uid


async def _job(session, uid: int, key: str, price: int = 10, now: datetime = T0):  # type: ignore[no-untyped-def]
    return await jobs.create_job(
        session,
        user_id=uid,
        chat_id=uid,
        language="en",
        model_id="vendor/model",
        values={"prompt": "a cat", "n": 1},
        files=[{"field": "image", "url": "https://x/y.png"}],
        confirm_key=key,
        price=price,
        credits="2.5",
        now=now,
    )


async def test_create_job_holds_once(db_session) -> None:  # type: ignore[no-untyped-def]
    s = db_session
    uid = await _user(s, 100)
    job = await _job(s, uid, "c1", price=40)
    assert job is not None and job.state == JobState.WAITING and job.price == 40 and job.credits == "2.5"
    assert job.values == {"prompt": "a cat", "n": 1} and job.created_at == T0 and job.next_check_at == T0
    assert await _job(s, uid, "c1", price=40) is None  # a second tap
    assert await wallet.get_balance(s, uid) == (60, 40)
    with pytest.raises(NotEnoughBalance) as info:
        await _job(s, uid, "c2", price=75)
    assert info.value.shortfall == 15
    await s.commit()
    assert await wallet.get_balance(s, uid) == (60, 40)
    assert await s.scalar(select(func.count()).where(Job.user_id == uid)) == 1
    hold = (await s.execute(select(LedgerEntry).where(LedgerEntry.key == f"hold:{job.id}"))).scalar_one()
    assert (hold.kind, hold.job_id, hold.delta_balance, hold.delta_held) == ("hold", job.id, -40, 40)


async def test_concurrent_confirms_start_one_job(store_db: StoreDB) -> None:
    async with store_db.sessionmaker.begin() as s:
        uid = await _user(s, 100)

    async def tap() -> bool:
        async with store_db.sessionmaker.begin() as session:
            return await _job(session, uid, f"tap:{uid}", price=30) is not None

    assert (await asyncio.gather(*(tap() for _ in range(6)))).count(True) == 1
    async with store_db.sessionmaker() as s:
        assert await wallet.get_balance(s, uid) == (70, 30)


async def test_claim_respects_slots_and_leases(db_session) -> None:  # type: ignore[no-untyped-def]
    s = db_session
    a, b = await _user(s), await _user(s)
    a_jobs = [await _job(s, a, f"a{i}", now=T0 + timedelta(seconds=i)) for i in range(4)]
    b_job = await _job(s, b, "b0", now=T0)
    later = await _job(s, b, "b-later", now=T0 + timedelta(hours=1))
    await s.commit()
    # Nothing started yet: with 2 slots the oldest two get them, and the 4th waits behind the 3rd.
    assert [await jobs.own_line(s, j, 2, now=T0) for j in a_jobs] == [None, None, 0, 1]

    now = T0 + timedelta(minutes=1)
    got = await jobs.claim_due(s, "w1", now, lease_seconds=30, limit=10, max_active_per_user=2)
    await s.commit()
    assert [j.id for j in got] == [a_jobs[0].id, b_job.id, a_jobs[1].id]  # firsts first, two slots for a
    assert all(j.lease_owner == "w1" and j.lease_until == now + timedelta(seconds=30) for j in got)
    assert later.id not in [j.id for j in got]  # not due yet
    # the same moment: everything due is leased or out of slots
    assert await jobs.claim_due(s, "w2", now, lease_seconds=30, limit=10, max_active_per_user=2) == []

    assert await jobs.update_job(s, a_jobs[0].id, "w1", state=JobState.SUBMITTING)
    assert not await jobs.update_job(s, a_jobs[0].id, "w2", state=JobState.RUNNING)  # not our lease
    assert await jobs.update_job(s, a_jobs[0].id, "w1", attempts=Job.attempts + 1)
    with pytest.raises(ValueError):  # the task id is written by attach_task only
        await jobs.update_job(s, a_jobs[0].id, "w1", kie_task_id="t-0")
    assert await jobs.attach_task(s, a_jobs[0].id, "t-1")
    assert a_jobs[0].state == "running" and a_jobs[0].attempts == 1  # loaded object refreshed
    assert await jobs.release_lease(s, a_jobs[0].id, "w1")
    assert await jobs.release_lease(s, a_jobs[1].id, "w1")  # a waiting job given back
    await s.commit()
    assert await jobs.count_open(s, a) == 4
    # a_jobs[0] runs and [1] was given back: [3] waits behind [1] and [2] for a's second slot.
    assert await jobs.own_line(s, a_jobs[3], 2, now=now) == 1
    assert (await jobs.get_job_by_task(s, "t-1")).id == a_jobs[0].id

    # a has one running job: one more slot, the oldest free waiting job takes it; the running job is due again
    got = await jobs.claim_due(s, "w2", now, lease_seconds=30, limit=10, max_active_per_user=2)
    assert [j.id for j in got] == [a_jobs[0].id, a_jobs[1].id]
    # leases expire
    got = await jobs.claim_due(s, "w3", now + timedelta(seconds=31), lease_seconds=30, limit=10, max_active_per_user=5)
    assert {j.id for j in got} == {a_jobs[0].id, a_jobs[1].id, a_jobs[2].id, a_jobs[3].id, b_job.id}
    with pytest.raises(ValueError):
        await jobs.update_job(s, a_jobs[0].id, "w3", price=1)
    with pytest.raises(ValueError):
        await jobs.update_job(s, a_jobs[0].id, "w3", nonsense=1)


async def test_claim_limit(db_session) -> None:  # type: ignore[no-untyped-def]
    s = db_session
    ids = []
    for _ in range(5):
        uid = await _user(s)
        ids.append((await _job(s, uid, f"k{uid}")).id)
    await s.commit()
    got = await jobs.claim_due(s, "w", T0, lease_seconds=10, limit=3, max_active_per_user=1)
    assert [j.id for j in got] == ids[:3]


async def test_replicas_claim_disjoint_sets(store_db: StoreDB) -> None:
    async with store_db.sessionmaker.begin() as s:
        uid = await _user(s, 10_000)
        for i in range(30):
            job = await _job(s, uid, f"r{i}")
            job.state = JobState.RUNNING
        other = await _user(s, 1000)
        for i in range(6):
            await _job(s, other, f"o{i}")

    async def worker(name: str) -> list[int]:
        async with store_db.sessionmaker.begin() as session:
            return [j.id for j in await jobs.claim_due(session, name, T0, 60, 100, max_active_per_user=2)]

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    claimed = [job_id for ids in results for job_id in ids]
    assert len(claimed) == len(set(claimed)) == 32  # 30 running + 2 waiting of `other` (two slots)


async def test_finish_and_fail_are_idempotent(db_session) -> None:  # type: ignore[no-untyped-def]
    s = db_session
    uid = await _user(s, 100)
    done = await _job(s, uid, "d", price=40)
    failed = await _job(s, uid, "f", price=30)
    assert await wallet.get_balance(s, uid) == (30, 70)
    with pytest.raises(ValueError):
        await jobs.finish_job(s, done, charged=41)
    assert await jobs.finish_job(s, done, charged=25)
    assert done.state == JobState.DONE and done.charged == 25 and done.finished_at is not None
    assert not await jobs.finish_job(s, done, charged=25)
    assert not await jobs.fail_job(s, done, error_code="late")  # never flips from done to failed
    assert await jobs.fail_job(s, failed, error_code="kie_500", error_detail="boom")
    assert not await jobs.fail_job(s, failed, error_code="again")
    assert not await jobs.finish_job(s, failed, charged=1)
    await s.commit()
    assert (done.state, failed.state, failed.error_code) == ("done", "failed", "kie_500")
    assert await wallet.get_balance(s, uid) == (75, 0)  # 100 - 25 charged
    assert await jobs.count_open(s, uid) == 0
    assert [j.id for j in await jobs.recent_jobs(s, uid)] == [failed.id, done.id]
    assert [j.id for j in await jobs.recent_jobs(s, uid, limit=1, offset=1)] == [done.id]


async def test_free_job_has_no_money_rows(db_session) -> None:  # type: ignore[no-untyped-def]
    uid = await _user(db_session, 0)
    job = await _job(db_session, uid, "free", price=0)
    assert await jobs.finish_job(db_session, job, charged=0)
    assert await db_session.scalar(select(func.count()).where(LedgerEntry.user_id == uid)) == 0


async def test_edit_slot(store_db: StoreDB) -> None:
    async with store_db.sessionmaker.begin() as s:
        assert await jobs.try_take_edit_slot(s, 42, T0, 3.0)
        assert not await jobs.try_take_edit_slot(s, 42, T0 + timedelta(seconds=1), 3.0)
        assert await jobs.try_take_edit_slot(s, 43, T0 + timedelta(seconds=1), 3.0)
        assert await jobs.try_take_edit_slot(s, 42, T0 + timedelta(seconds=3), 3.0)
        assert not await jobs.try_take_edit_slot(s, 42, T0 + timedelta(seconds=4), 3.0)

    async def racer() -> bool:
        async with store_db.sessionmaker.begin() as session:
            return await jobs.try_take_edit_slot(session, 42, T0 + timedelta(seconds=10), 3.0)

    assert (await asyncio.gather(*(racer() for _ in range(6)))).count(True) == 1
