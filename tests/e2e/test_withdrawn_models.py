"""A model the operator hides (CATALOG_PATH, then a restart) or KIE disables (code 505) stops new confirmations
only: a job already at KIE still finishes, is delivered and charged once."""
from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import ADMIN, Stack, balance_of, ledger_of, relaxed_flood, running_stack
from tests.e2e.journey import Journey, restart
from tests.e2e.texts import Texts
from tests.fakes import FakeUser

MODEL = "google/nano-banana"
SLUG = "google-nano-banana"


async def at_kie(stack: Stack, user: FakeUser, prompt: str) -> Journey:
    """A generation confirmed and running at KIE (its task held there until /finish)."""
    j = Journey(stack, user)
    await j.fill(SLUG, prompt, "⏩ Defaults for all the rest")
    await j.confirm(8)
    await j.status("generating")
    return j


async def delivered_once(j: Journey, *, balance: int) -> None:
    done = await j.result(timeout=30)
    assert done.text == "\n".join([j.texts("status-done", model=j.model, job=j.job, charged=8),
                                   j.texts("balance-after", balance=balance)])
    [photo] = j.delivered("photo")
    assert photo.caption == j.texts("result-caption", model=j.model, job=j.job)


async def refused_on_confirm(stack: Stack, j: Journey) -> None:
    """✅ Confirm on a confirmation shown before the model went away: an alert says the model is gone, nothing is
    held and the form is closed (a second press is a stale button)."""
    for answer, alert in ((j.texts("model-gone"), "true"), (j.texts("stale-button"), None)):  # a pop-up, then a toast
        query = await j.press_confirm(8)
        await stack.tg.wait_for(lambda q=query: q in stack.tg.callback_answers)
        told = stack.tg.callback_answers[query]
        assert (told.get("text"), told.get("show_alert")) == (answer, alert), told


async def test_a_model_hidden_by_the_operator_finishes_its_running_job(tmp_path: Path, alice: FakeUser) -> None:
    override = tmp_path / "catalog.json"
    override.write_text(json.dumps({"models": {}}))
    async with running_stack(tmp_path, flood=relaxed_flood(), catalog_path=override) as stack:
        await stack.kie_control("task-outcome", {"outcome": "held"})
        running = await at_kie(stack, alice, "A lighthouse at dusk")
        later = Journey(stack, alice)  # a second form, at its confirmation when the model is hidden
        await later.fill(SLUG, "A lighthouse at dawn", "⏩ Defaults for all the rest")
        override.write_text(json.dumps({"models": {MODEL: {"hidden": True}}}))  # what the operator does...
        await restart(stack)  # ...then restarts the bot
        await stack.kie_control("finish", {})
        await delivered_once(running, balance=92)
        await refused_on_confirm(stack, later)
        await later.command("/start", f"m_{SLUG}")  # its link no longer opens its card
        await later.reply(later.texts("model-gone"))
        assert [t["input"]["prompt"] for t in await stack.kie_tasks()] == ["A lighthouse at dusk"]
        assert await balance_of(stack, alice) == (92, 0)
        assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]


async def test_a_model_kie_disabled_finishes_its_running_job(tmp_path: Path, alice: FakeUser,
                                                             boris: FakeUser) -> None:
    async with running_stack(tmp_path, flood=relaxed_flood()) as stack:
        await stack.kie_control("task-outcome", {"outcome": "held"})
        running = await at_kie(stack, alice, "A lighthouse at dusk")
        later = Journey(stack, alice)  # a form at its confirmation when KIE disables the model
        await later.fill(SLUG, "A lighthouse at dawn", "⏩ Defaults for all the rest")
        refused = Journey(stack, boris)  # whose task KIE refuses: the model is switched off there
        await refused.fill(SLUG, "Маяк в полдень", refused.texts("btn-defaults-rest"))
        await stack.kie_control("fail", {"code": 505, "endpoint": "createTask"})
        await refused.confirm(8)
        failed = await refused.failure()
        assert failed.text == "\n".join([
            refused.texts("status-failed", model=refused.model, job=refused.job,
                          reason=refused.texts("fail-unavailable"), price=8),
            refused.texts("balance-after", balance=100)])
        assert failed.buttons() == []  # nothing to try again
        told = Texts("ru")("alert-model-disabled", model=MODEL)  # the operator never wrote: the default language
        await Journey(stack, ADMIN).wait("the operators' alert", lambda m: m.content == told, after=0)
        await stack.kie_control("finish", {})
        await delivered_once(running, balance=92)
        await refused_on_confirm(stack, later)
        assert [t["input"]["prompt"] for t in await stack.kie_tasks()] == ["A lighthouse at dusk"]
        assert await balance_of(stack, alice) == (92, 0)
        assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]
        assert await ledger_of(stack, boris) == [("bonus", 100, 0), ("hold", -8, 8), ("release", 8, -8)]
