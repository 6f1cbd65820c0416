"""Variants ×N: which runs a draft asks for, their prices, the batch's start and cancel (one unit of work each),
and what the batch's status message says."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from kiebot.bot.i18n import Translator
from kiebot.bot.screens.batch_status import batch_screen, batch_text
from kiebot.catalog import Catalog
from kiebot.services import batches
from kiebot.services.batches import BatchView, VariantView
from kiebot.services.wizard import Draft
from kiebot.store import jobs as job_repo
from kiebot.store import users, wallet
from kiebot.store.models import Batch, Job, JobState
from tests.ledger_invariants import assert_ledger_invariants
from tests.store_fixtures import db_session, store_db  # noqa: F401

CATALOG = Catalog.load()
BANANA = CATALOG.get("google/nano-banana")
FLUX = CATALOG.by_slug("flux-2-pro-t2i")  # 1K: 5 credits, 2K: 7 credits
MARKUP = Decimal("2")
tr = Translator().bind("en")
_ids = itertools.count(9100)


def draft_of(model, **values) -> Draft:  # type: ignore[no-untyped-def]
    return Draft.prefilled(model, {"prompt": "a fox", **values}, [])


# --- the runs ------------------------------------------------------------------------------------------


def test_copies_repeat_the_values_and_a_varied_field_takes_each_ticked_value() -> None:
    draft = draft_of(BANANA, aspect_ratio="1:1")
    assert not batches.is_batch(draft)
    draft.set_copies(3)
    assert batches.is_batch(draft) and batches.variant_values(draft) == [{"prompt": "a fox", "aspect_ratio": "1:1"}] * 3
    draft.vary_field("aspect_ratio")
    assert draft.copies == 1 and not batches.is_batch(draft)  # nothing ticked yet: not a batch
    for value in ("16:9", "9:16"):
        assert draft.tick_variant(value, batches.MAX_VARIANTS)
    assert [v["aspect_ratio"] for v in batches.variant_values(draft)] == ["16:9", "9:16"]
    assert draft.tick_variant("16:9", batches.MAX_VARIANTS)  # a second tap unticks
    assert draft.vary_values == ["9:16"] and not batches.is_batch(draft)


def test_no_more_than_four_values_are_ticked() -> None:
    draft = draft_of(BANANA)
    draft.vary_field("aspect_ratio")
    assert all(draft.tick_variant(v, batches.MAX_VARIANTS) for v in ("1:1", "9:16", "16:9", "3:4"))
    token = draft.token
    assert not draft.tick_variant("4:3", batches.MAX_VARIANTS)
    assert draft.batch_size == 4 and draft.token == token


def test_only_priced_choice_fields_are_offered_for_varying() -> None:
    assert [f.name for f in batches.varying_fields(BANANA, draft_of(BANANA))] == ["output_format", "aspect_ratio"]


# --- price ---------------------------------------------------------------------------------------------


def test_copies_cost_n_times_the_price() -> None:
    draft = draft_of(BANANA)
    draft.set_copies(4)
    quote = batches.quote_batch(BANANA, draft, MARKUP)
    assert quote is not None and quote.uniform and quote.exact
    assert [v.units for v in quote.variants] == [8] * 4 and quote.total == 32


def test_varied_values_are_priced_each_on_its_own() -> None:
    draft = draft_of(FLUX)
    draft.vary_field("resolution")
    draft.tick_variant("1K", 4)
    draft.tick_variant("2K", 4)
    quote = batches.quote_batch(FLUX, draft, MARKUP)
    assert quote is not None and not quote.uniform
    assert [(v.value, v.units) for v in quote.variants] == [("1K", 10), ("2K", 14)] and quote.total == 24


def test_a_single_run_is_not_quoted_as_a_batch() -> None:
    assert batches.quote_batch(BANANA, draft_of(BANANA), MARKUP) is None


# --- start and cancel ----------------------------------------------------------------------------------


async def _user(session, balance: int) -> int:  # type: ignore[no-untyped-def]
    uid = next(_ids)
    await users.get_or_create_user(session, uid, username=None, first_name=None, welcome_bonus=balance)
    return uid


async def _start(session, uid: int, draft: Draft) -> batches.BatchStart:  # type: ignore[no-untyped-def]
    return await batches.start_batch(session, model=FLUX, draft=draft, user_id=uid, chat_id=uid, language="en",
                                     markup=MARKUP)


def _varied_resolution() -> Draft:
    draft = draft_of(FLUX)
    draft.vary_field("resolution")
    draft.tick_variant("1K", 4)
    draft.tick_variant("2K", 4)
    return draft


async def test_a_batch_holds_each_variant_in_one_unit_of_work_and_starts_once(db_session) -> None:  # noqa: F811
    uid = await _user(db_session, 100)
    draft = _varied_resolution()
    begun = await _start(db_session, uid, draft)
    assert [(j.values["resolution"], j.price, j.state) for j in begun.jobs] == [("1K", 10, "waiting"),
                                                                              ("2K", 14, "waiting")]
    assert {j.batch_id for j in begun.jobs} == {begun.batch_id}
    assert await wallet.get_balance(db_session, uid) == (76, 24)
    again = await _start(db_session, uid, draft)  # a second tap on the same confirmation
    assert again.duplicate and not again.jobs
    assert await db_session.scalar(select(func.count(Job.id)).where(Job.user_id == uid)) == 2
    await assert_ledger_invariants(db_session)


async def test_a_batch_the_balance_does_not_cover_starts_nothing(db_session) -> None:  # noqa: F811
    uid = await _user(db_session, 20)
    begun = await _start(db_session, uid, _varied_resolution())
    assert begun.shortfall == 4 and not begun.jobs
    assert await db_session.scalar(select(func.count(Batch.id)).where(Batch.user_id == uid)) == 0
    assert await wallet.get_balance(db_session, uid) == (20, 0)


async def test_cancel_releases_every_variant_only_while_all_wait(db_session) -> None:  # noqa: F811
    uid = await _user(db_session, 100)
    waiting = await _start(db_session, uid, _varied_resolution())
    assert waiting.batch_id is not None
    assert await batches.cancel_batch(db_session, waiting.batch_id, uid + 1) is None  # not theirs
    assert await batches.cancel_batch(db_session, waiting.batch_id, uid) is True
    assert await wallet.get_balance(db_session, uid) == (100, 0)
    started = await _start(db_session, uid, _varied_resolution())
    assert started.batch_id is not None
    # a worker has sent the second one to KIE meanwhile
    await db_session.execute(Job.__table__.update().where(Job.id == started.jobs[1].id).values(state="submitting"))
    assert await batches.cancel_batch(db_session, started.batch_id, uid) is False
    states = [(await job_repo.get_job(db_session, j.id)).state for j in started.jobs]  # type: ignore[union-attr]
    assert states == ["waiting", "submitting"]  # nothing cancelled: the batch runs as confirmed
    assert await wallet.get_balance(db_session, uid) == (76, 24)
    await assert_ledger_invariants(db_session)


# --- the status message --------------------------------------------------------------------------------


def _view(*states: tuple[str, str | None], field: str | None = None, values: tuple = ()) -> BatchView:  # type: ignore[type-arg]
    variants = tuple(
        VariantView(job_id=10 + i, value=values[i] if values else None, state=JobState(state),
                    progress=100 if state in ("delivering", "done", "failed") else 40, price=8,
                    charged=8 if state == "done" else None, error_code=code)
        for i, (state, code) in enumerate(states))
    return BatchView(1, "google/nano-banana", field, variants, delivered=False)


def test_the_status_counts_the_results_in_and_names_a_failed_variant() -> None:
    view = _view(("delivering", None), ("running", None), ("delivering", None), ("failed", "policy"),
                 field="aspect_ratio", values=("1:1", "16:9", "9:16", "4:3"))
    assert batch_text(tr, "en", view, BANANA).split("\n") == [
        "🎨 Nano Banana ×4 (#10): 2 of 4 ready",
        "▰▰▰▰▰▰▰▰▱▱ 85%",
        "❌ 4:3 did not come out: the model refused the request under its content rules. Change the prompt or the "
        "images.",
    ]
    assert batch_screen(tr, "en", view, BANANA).markup is None  # running: nothing to cancel any more


def test_the_final_status_says_what_was_charged_and_released() -> None:
    view = _view(("done", None), ("failed", "generation"), ("done", None))
    assert batch_text(tr, "en", view, BANANA, balance=84).split("\n") == [
        "✅ Nano Banana ×3 (#10): 2 of 3 ready! Charged 16 💎.",
        "❌ Variant 2 did not come out: the model could not generate a result.",
        "The held 8 💎 of the runs that failed are back on your balance.",
        "Balance: <b>84 💎</b>.",
    ]
    screen = batch_screen(tr, "en", view, BANANA, balance=84)
    assert screen.markup is not None  # the failed variant can be tried again on its own
    assert [(b.text, b.callback_data) for row in screen.markup.inline_keyboard for b in row] == [
        ("🔁 Try again: Variant 2", "j:retry:11")]


def test_a_batch_waiting_in_line_can_be_cancelled() -> None:
    view = _view(("waiting", None), ("waiting", None))
    screen = batch_screen(tr, "en", view, BANANA)
    assert screen.text == "⏳ Nano Banana ×2 (#10): confirmed, 16 💎 held. Starting…"
    assert screen.markup is not None
    assert [b.text for row in screen.markup.inline_keyboard for b in row] == ["✖ Cancel"]


# --- the line ------------------------------------------------------------------------------------------


async def _set_state(session, job_id: int, state: str) -> None:  # type: ignore[no-untyped-def]
    await session.execute(Job.__table__.update().where(Job.id == job_id).values(state=state))


async def test_a_variant_waiting_for_its_album_takes_no_active_slot(db_session) -> None:  # noqa: F811
    """Else a batch larger than MAX_ACTIVE_PER_USER would wait for itself; a single job delivering still counts."""
    uid = await _user(db_session, 100)
    begun = await _start(db_session, uid, _varied_resolution())
    await _set_state(db_session, begun.jobs[0].id, "delivering")
    now = datetime.now(UTC) + timedelta(seconds=1)
    claimed = await job_repo.claim_due(db_session, "w1", now, 25, 10, max_active_per_user=1)
    assert [job.id for job in claimed] == [begun.jobs[0].id, begun.jobs[1].id]
    other = await _user(db_session, 100)
    single = await job_repo.create_job(db_session, user_id=other, chat_id=other, language="en", model_id=FLUX.id,
                                       values={"prompt": "a"}, files=[], confirm_key=f"s{other}", price=10,
                                       credits="5")
    queued = await job_repo.create_job(db_session, user_id=other, chat_id=other, language="en", model_id=FLUX.id,
                                       values={"prompt": "b"}, files=[], confirm_key=f"q{other}", price=10,
                                       credits="5")
    assert single is not None and queued is not None
    await _set_state(db_session, single.id, "delivering")
    later = now + timedelta(minutes=5)  # the first claims' leases have expired
    claimed = await job_repo.claim_due(db_session, "w2", later, 25, 10, max_active_per_user=1)
    assert queued.id not in [job.id for job in claimed]
