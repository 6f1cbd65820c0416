"""A model hidden by the operator or disabled by KIE stops new confirmations only: jobs already at KIE finish."""
from __future__ import annotations

import json
from pathlib import Path

from kiebot.catalog import Catalog
from kiebot.catalog.pricing import MediaFacts
from kiebot.config import Settings
from kiebot.engine import Engine
from kiebot.engine import worker as worker_module
from kiebot.store.models import JobState
from kiebot.store.models_status import disable_model
from tests.engine.kit import Clock, RecordingNotifier, ScriptedKie, money, new_job, record, run_until

URL = "https://r/1.png"
MODEL = "google/nano-banana"


def engine_with(sessionmaker, catalog: Catalog, kie: ScriptedKie, notifier: RecordingNotifier,  # type: ignore[no-untyped-def]
                clock: Clock) -> Engine:
    return Engine(sessionmaker=sessionmaker, kie=kie, catalog=catalog, notifier=notifier,
                  settings=Settings(_env_file=None, max_active_per_user=5), clock=clock)


async def test_a_model_hidden_by_the_operator_finishes_and_delivers_its_jobs(db_sessionmaker, tmp_path: Path) -> None:
    kie, notifier, clock = ScriptedKie(), RecordingNotifier(), Clock()
    running = await new_job(db_sessionmaker, clock, key="a")
    await engine_with(db_sessionmaker, Catalog.load(), kie, notifier, clock).tick()  # at KIE now
    confirmed = await new_job(db_sessionmaker, clock, key="b")  # confirmed before the operator hid the model
    override = tmp_path / "override.json"
    override.write_text(json.dumps({"models": {MODEL: {"hidden": True}}}))
    hidden = Catalog.load(override)
    assert hidden.get(MODEL) is None  # no new confirmations
    engine = engine_with(db_sessionmaker, hidden, kie, notifier, clock)  # the bot restarted with the override
    kie.records = [record("task-1", "success", (URL,)), record("task-2", "success", (URL,))]
    for job_id in (running, confirmed):
        job = await run_until(engine, clock, db_sessionmaker, job_id, (JobState.DONE, JobState.FAILED))
        assert job.state == JobState.DONE and job.charged == 8
    # Each delivered once; in which order depends on which claim took both (one tick may advance them together).
    assert sorted(job_id for job_id, _ in notifier.delivered) == sorted([running, confirmed])
    assert await money(db_sessionmaker) == (84, 0)


async def test_a_model_kie_disabled_delivers_the_jobs_it_already_runs(db_sessionmaker) -> None:
    kie, notifier, clock = ScriptedKie(), RecordingNotifier(), Clock()
    engine = engine_with(db_sessionmaker, Catalog.load(), kie, notifier, clock)
    running = await new_job(db_sessionmaker, clock, key="a")
    await engine.tick()
    waiting = await new_job(db_sessionmaker, clock, key="b")
    async with db_sessionmaker() as session:
        await disable_model(session, MODEL, "feature disabled")  # another job met code 505
        await session.commit()
    kie.records = [record("task-1", "success", (URL,))]
    assert (await run_until(engine, clock, db_sessionmaker, running, (JobState.DONE,))).charged == 8
    job = await run_until(engine, clock, db_sessionmaker, waiting, (JobState.FAILED,))
    assert job.error_code == "unavailable" and len(kie.created) == 1  # not sent: KIE would refuse it
    assert notifier.delivered == [(running, [URL])] and await money(db_sessionmaker) == (92, 0)


async def test_a_model_that_needs_a_callback_finishes_its_jobs_without_public_url(db_sessionmaker,
                                                                                  monkeypatch) -> None:
    async def unmeasured(urls: list[str]) -> list[MediaFacts]:  # the price depends on the output: no download here
        return [MediaFacts(seconds=None, width=None, height=None)]

    monkeypatch.setattr(worker_module, "measure_outputs", unmeasured)
    kie, notifier, clock = ScriptedKie(), RecordingNotifier(), Clock()
    model = "kling-3.0/motion-control"
    job_id = await new_job(db_sessionmaker, clock, model_id=model, values={"prompt": "dance"})
    await engine_with(db_sessionmaker, Catalog.load(), kie, notifier, clock).tick()
    without = Catalog.load().without_callback_models()  # PUBLIC_URL was removed: no longer offered
    assert without.get(model) is None and without.known(model) is not None
    kie.records = [record("task-1", "success", ("https://r/1.mp4",))]
    done = await run_until(engine_with(db_sessionmaker, without, kie, notifier, clock), clock, db_sessionmaker,
                           job_id, (JobState.DONE, JobState.FAILED))
    assert done.state == JobState.DONE and done.charged == 8  # the held price: the length was not measured
