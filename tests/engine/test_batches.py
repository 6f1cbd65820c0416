"""A batch of variants: each variant runs and settles on its own, their results go out as one album once every
variant has ended, and a variant waiting for its siblings takes none of its user's active slots."""
from __future__ import annotations

from decimal import Decimal

from kiebot.kie.records import TaskRecord
from kiebot.services import batches
from kiebot.services.wizard import Draft
from kiebot.store.models import JobState
from kiebot.store.users import get_or_create_user
from tests.engine.kit import CATALOG, USER, ScriptedKie, money, record, state_of
from tests.ledger_invariants import assert_ledger_invariants

MODEL = CATALOG.get("google/nano-banana")
ENDED = (JobState.DONE, JobState.FAILED)


class PerTaskKie(ScriptedKie):
    """Each task's answer by its id (`outcomes`); a task not named there is still generating."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, TaskRecord] = {}

    async def record_info(self, task_id: str, api: object = None) -> TaskRecord:
        self.polls += 1
        return self.outcomes.get(task_id, record(task_id, "generating"))


async def start(sessionmaker, clock, copies: int = 3) -> list[int]:  # type: ignore[no-untyped-def]
    assert MODEL is not None
    draft = Draft.prefilled(MODEL, {"prompt": "a fox"}, [])
    draft.set_copies(copies)
    async with sessionmaker() as session:
        await get_or_create_user(session, USER, username=None, first_name="U", welcome_bonus=100)
        begun = await batches.start_batch(session, model=MODEL, draft=draft, user_id=USER, chat_id=USER,
                                          language="en", markup=Decimal("2"), now=clock())
        await session.commit()
    return [job.id for job in begun.jobs]


async def run_batch(engine, clock, sessionmaker, ids: list[int], limit: int = 200) -> list:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        await engine.tick()
        jobs = [await state_of(sessionmaker, job_id) for job_id in ids]
        if all(job.state in ENDED for job in jobs):
            return jobs
        clock.advance(5)
    raise AssertionError(f"the batch stayed {[job.state for job in jobs]}")


async def invariants(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        await assert_ledger_invariants(session)


def answer(kie: PerTaskKie, *failing: int) -> None:
    """Tasks 1-3 end: those numbered in `failing` fail, the others succeed."""
    for number in (1, 2, 3):
        task = f"task-{number}"
        kie.outcomes[task] = (record(task, "fail", fail_msg="internal error") if number in failing
                              else record(task, "success", (f"https://r/{number}.png",)))


async def test_one_album_once_every_variant_ended_each_charged_on_its_own(parts, db_sessionmaker) -> None:
    engine, _, notifier, clock = parts  # MAX_ACTIVE_PER_USER is 1: the variants run one after another
    engine.kie = kie = PerTaskKie()
    ids = await start(db_sessionmaker, clock)
    assert await money(db_sessionmaker) == (76, 24)  # held together: one drop of the balance
    await engine.tick()
    answer(kie, 2)
    jobs = await run_batch(engine, clock, db_sessionmaker, ids)
    assert [job.state for job in jobs] == [JobState.DONE, JobState.FAILED, JobState.DONE]
    assert [job.charged for job in jobs] == [8, None, 8]
    assert notifier.albums == [[ids[0], ids[2]]]  # once, without the failed variant
    assert notifier.delivered == []  # nothing went out on its own
    assert await money(db_sessionmaker) == (84, 0)
    await invariants(db_sessionmaker)


async def test_an_album_that_cannot_be_sent_yet_is_sent_later_and_charged_once(parts, db_sessionmaker) -> None:
    engine, _, notifier, clock = parts
    engine.kie = kie = PerTaskKie()
    ids = await start(db_sessionmaker, clock)
    answer(kie)
    notifier.down = True
    for _ in range(40):
        await engine.tick()
        clock.advance(5)
    assert {(await state_of(db_sessionmaker, job_id)).state for job_id in ids} == {JobState.DELIVERING}
    assert await money(db_sessionmaker) == (76, 24)  # nothing reached the user: all still held
    notifier.down = False
    jobs = await run_batch(engine, clock, db_sessionmaker, ids)
    assert [job.state for job in jobs] == [JobState.DONE] * 3
    assert notifier.albums == [ids]
    assert await money(db_sessionmaker) == (76, 0)
    await invariants(db_sessionmaker)


async def test_a_user_who_blocked_the_bot_gets_every_variant_released(parts, db_sessionmaker) -> None:
    engine, _, notifier, clock = parts
    engine.kie = kie = PerTaskKie()
    ids = await start(db_sessionmaker, clock)
    answer(kie)
    notifier.gone = True
    jobs = await run_batch(engine, clock, db_sessionmaker, ids)
    assert {(job.state, job.error_code) for job in jobs} == {(JobState.FAILED, "undelivered")}
    assert await money(db_sessionmaker) == (100, 0)
    await invariants(db_sessionmaker)
