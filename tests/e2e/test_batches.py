"""Variants ×N on the confirmation: one status message ("2 of 4 ready"), one album of the results, each variant
settled on its own; the ledger invariants hold after each journey."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import Stack, balance_of, ledger_of, relaxed_flood, running_stack
from tests.e2e.journey import Journey
from tests.fakes import FakeMessage, FakeUser
from tests.ledger_invariants import assert_ledger_invariants

PROMPT = "A lighthouse at dusk"


async def invariants(stack: Stack) -> None:
    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        await assert_ledger_invariants(session)


async def batch_status(j: Journey, key: str, timeout: float = 30.0, **params: Any) -> FakeMessage:
    """The batch's status message (the confirmation, turned into it) once its first line is the text `key`."""
    assert j.confirm_screen is not None
    status_id = j.confirm_screen.message_id
    line = j.texts.line(key, model=j.model, **params)
    return await j.wait(f"batch status {key} {params}", lambda m: m.message_id == status_id
                        and bool(line.fullmatch(m.first_line)), timeout=timeout)


async def variants_of(j: Journey) -> FakeMessage:
    """🔢 Variants on the confirmation: the variants screen."""
    await j.tap(j.texts("btn-variants"), on=j.confirm_screen)
    return await j.shown("variants-title", model=j.model)


def album(j: Journey) -> list[FakeMessage]:
    photos = j.delivered("photo")
    assert len({p.media_group_id for p in photos}) == 1 and photos[0].media_group_id, "not one album"
    return photos


async def test_three_copies_arrive_as_one_album(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.fill("google-nano-banana", PROMPT, "⏩ Defaults for all the rest")
    await variants_of(j)
    await j.tap("×3")
    confirm = await j.confirmation()
    assert "🔢 Variants: ×3 with the same values (free tries are not used for variants)" in confirm.text
    assert "Price: 3 × 8 💎 = 24 💎" in confirm.text and "Balance: 100 💎 → after: 76 💎" in confirm.text
    assert "🔢 Variants: ×3" in confirm.buttons()
    await j.tap("✅ Confirm ×3 — 24 💎", on=confirm)
    done = await batch_status(j, "batch-done", ready=3, count=3)
    assert done.first_line == "✅ Nano Banana ×3 (#1): 3 of 3 ready! Charged 24 💎."
    shown = [version.text.split("\n")[0] for version in done.history if version.text]
    progress = j.texts.line("batch-progress", model=j.model, count=3, job=1)
    delivering = j.texts.line("batch-delivering", model=j.model, count=3, job=1, ready=3)
    # results coming in were shown before the album went out (how many at once depends on the poll timing)
    assert any(progress.fullmatch(line) or delivering.fullmatch(line) for line in shown), shown
    assert done.text.split("\n")[1:] == ["Balance: 76 💎."]
    photos = album(j)
    assert [p.caption for p in photos] == [f"Nano Banana · #{n} · Variant {n}" for n in (1, 2, 3)]
    assert [t["input"]["prompt"] for t in await quick.kie_tasks()] == [PROMPT] * 3
    assert await balance_of(quick, alice) == (76, 0)
    assert [row for row in await ledger_of(quick, alice) if row[0] == "charge"] == [("charge", 0, -8)] * 3
    await invariants(quick)


async def test_a_varied_aspect_ratio_sends_each_value_to_the_model(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.fill("google-nano-banana", PROMPT, "⏩ Defaults for all the rest")
    await variants_of(j)
    await j.tap("🎛 Vary: Aspect ratio")
    await j.shown("vary-title", field="Aspect ratio")
    for ratio in ("1:1", "16:9", "9:16"):
        await j.tap(f"☐ {ratio}")
        await j.shown("vary-title", field="Aspect ratio")
    await j.tap("✅ Done (3)")
    confirm = await j.confirmation()
    assert "🔢 Variants: Aspect ratio — 1:1, 16:9, 9:16 (free tries are not used for variants)" in confirm.text
    assert "• Aspect ratio: 1:1, 16:9, 9:16" in confirm.text
    await j.tap("✅ Confirm ×3 — 24 💎", on=confirm)
    await batch_status(j, "batch-done", ready=3, count=3)
    # the variants are sent side by side, in any order
    assert sorted(t["input"]["aspect_ratio"] for t in await quick.kie_tasks()) == ["16:9", "1:1", "9:16"]
    assert [p.caption for p in album(j)] == [f"Nano Banana · #{n} · {r}" for n, r in
                                             ((1, "1:1"), (2, "16:9"), (3, "9:16"))]
    await invariants(quick)
    history = await j.history()  # each variant is a generation of its own; repeating one repeats that one
    assert [line.startswith(f"#{n} · Nano Banana · ") for n, line in zip((3, 2, 1), history.text.split("\n")[1:],
                                                                          strict=False)] == [True] * 3
    again = await j.repeat(2)
    assert "• Aspect ratio: 16:9" in again.text and "Price: 8 💎" in again.text
    assert "✅ Confirm — 8 💎" in again.buttons()


async def test_varied_values_of_different_prices_are_listed_each_with_its_price(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.fill("flux-2-pro-t2i", PROMPT, "⏭ Keep the default", "⏭ Keep the default", "⏩ Defaults for all the rest")
    await variants_of(j)
    await j.tap("🎛 Vary: Resolution")
    await j.shown("vary-title", field="Resolution")
    for resolution in ("1K", "2K"):
        await j.tap(f"☐ {resolution}")
        await j.shown("vary-title", field="Resolution")
    await j.tap("✅ Done (2)")
    confirm = await j.confirmation()
    lines = confirm.text.split("\n")
    assert lines[lines.index("• 1K — 10 💎"):] == ["• 1K — 10 💎", "• 2K — 14 💎", "Total: 24 💎",
                                                  "Balance: 100 💎 → after: 76 💎"]
    await j.tap("✅ Confirm ×2 — 24 💎", on=confirm)
    done = await batch_status(j, "batch-done", ready=2, count=2)
    assert done.first_line.endswith("2 of 2 ready! Charged 24 💎.")
    assert sorted(t["input"]["resolution"] for t in await quick.kie_tasks()) == ["1K", "2K"]
    assert await balance_of(quick, alice) == (76, 0)
    await invariants(quick)


async def test_back_from_the_variants_leaves_a_single_run(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.fill("google-nano-banana", PROMPT, "⏩ Defaults for all the rest")
    await variants_of(j)
    await j.tap("🎛 Vary: Aspect ratio")
    await j.shown("vary-title", field="Aspect ratio")
    await j.tap("☐ 16:9")
    ticked = await j.shown("vary-title", field="Aspect ratio")
    assert "✅ Done (1)" not in ticked.buttons()  # one value is not a batch
    await j.tap("◀ Back")
    menu = await j.shown("variants-title", model=j.model)
    assert "✅ 🎛 Vary: Aspect ratio" not in menu.buttons()
    await j.tap("◀ Back")
    confirm = await j.confirmation()
    assert "Price: 8 💎" in confirm.text and "🔢 Variants" in confirm.buttons()
    assert "✅ Confirm — 8 💎" in confirm.buttons()


async def test_a_failed_variant_is_named_released_and_left_out_of_the_album(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.fill("google-nano-banana", PROMPT, "⏩ Defaults for all the rest")
    await variants_of(j)
    await j.tap("×3")
    confirm = await j.confirmation()
    await quick.kie_control("task-outcome", {"outcome": "fail", "fail_msg": "internal error", "times": 1})
    await j.tap("✅ Confirm ×3 — 24 💎", on=confirm)
    done = await batch_status(j, "batch-done", ready=2, count=3)
    assert len(await quick.kie_tasks()) == 3
    lines = done.text.split("\n")
    failed = next(n for n in (1, 2, 3)  # the variants are sent side by side: whichever reached KIE first failed
                  if lines[1] == f"❌ Variant {n} did not come out: the model could not generate a result.")
    assert lines[0] == "✅ Nano Banana ×3 (#1): 2 of 3 ready! Charged 16 💎."
    assert lines[2:] == ["The held 8 💎 of the runs that failed are back on your balance.", "Balance: 84 💎."]
    assert [p.caption for p in album(j)] == [f"Nano Banana · #{n} · Variant {n}" for n in (1, 2, 3) if n != failed]
    assert done.buttons() == [f"🔁 Try again: Variant {failed}"]
    assert await balance_of(quick, alice) == (84, 0)
    await invariants(quick)
    await j.tap(f"🔁 Try again: Variant {failed}", on=done)  # that one run again, on a new confirmation
    again = await j.confirmation()
    assert f"• Prompt: {PROMPT}" in again.text and "✅ Confirm — 8 💎" in again.buttons()


async def test_cancel_of_a_queued_batch_releases_every_hold(tmp_path: Path, alice: FakeUser) -> None:
    async with running_stack(tmp_path, flood=relaxed_flood(), max_active_per_user=1) as stack:
        await stack.kie_control("task-outcome", {"outcome": "slow", "generate_s": 12})
        first, batch = Journey(stack, alice), Journey(stack, alice)
        await first.fill("google-nano-banana", "First picture", "⏩ Defaults for all the rest")
        await first.confirm(8)
        await batch.fill("google-nano-banana", PROMPT, "⏩ Defaults for all the rest")
        await variants_of(batch)
        await batch.tap("×2")
        confirm = await batch.confirmation()
        await batch.tap("✅ Confirm ×2 — 16 💎", on=confirm)
        waiting = await batch_status(batch, "batch-waiting", count=2, price=16)
        assert waiting.buttons() == ["✖ Cancel"]
        assert await balance_of(stack, alice) == (76, 24)
        await batch.tap("✖ Cancel", on=waiting)
        cancelled = await batch_status(batch, "batch-cancelled", count=2, price=16)
        assert cancelled.text.split("\n")[1:] == ["Balance: 92 💎."]
        await first.result(timeout=40)
        assert [t["input"]["prompt"] for t in await stack.kie_tasks()] == ["First picture"]
        assert await balance_of(stack, alice) == (92, 0)
        assert [row for row in await ledger_of(stack, alice) if row[0] == "release"] == [("release", 8, -8)] * 2
        await invariants(stack)


async def test_a_batch_larger_than_the_active_limit_completes(tmp_path: Path, alice: FakeUser) -> None:
    """Variants whose results wait for the album take no active slot, or the fourth could never start."""
    async with running_stack(tmp_path, flood=relaxed_flood(), max_active_per_user=2) as stack:
        j = Journey(stack, alice)
        await j.fill("google-nano-banana", PROMPT, "⏩ Defaults for all the rest")
        await variants_of(j)
        await j.tap("×4")
        confirm = await j.confirmation()
        await j.tap("✅ Confirm ×4 — 32 💎", on=confirm)
        await batch_status(j, "batch-done", ready=4, count=4, timeout=60)
        assert len(album(j)) == 4
        assert await balance_of(stack, alice) == (68, 0)
        await invariants(stack)
