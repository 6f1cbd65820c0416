"""The buttons on a generation's status message: ✖ Cancel while it waits in line, 🔁 Try again after a failure."""
from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Stack, balance_of, ledger_of, relaxed_flood, running_stack
from tests.e2e.journey import Journey
from tests.fakes import FakeUser


async def test_cancel_while_waiting_in_line_releases_the_hold_at_once(tmp_path: Path, alice: FakeUser) -> None:
    async with running_stack(tmp_path, flood=relaxed_flood(), max_active_per_user=1) as stack:
        await stack.kie_control("task-outcome", {"outcome": "slow", "generate_s": 12})
        first, second = Journey(stack, alice), Journey(stack, alice)
        await first.fill("google-nano-banana", "First picture", "⏩ Defaults for all the rest")
        await first.confirm(8)
        await second.fill("google-nano-banana", "Second picture", "⏩ Defaults for all the rest")
        waiting = await second.confirm(8)
        assert waiting.buttons() == ["✖ Cancel"]
        assert await balance_of(stack, alice) == (84, 16)
        await second.tap("✖ Cancel", on=waiting)
        cancelled = await second.failure()
        assert cancelled.text == ("❌ Nano Banana (#2): cancelled before it started.\n"
                                  "The held 8 💎 are back on your balance.\nBalance: 92 💎.")
        assert cancelled.buttons() == ["🔁 Try again"]
        await first.result(timeout=40)
        assert [t["input"]["prompt"] for t in await stack.kie_tasks()] == ["First picture"]
        assert await balance_of(stack, alice) == (92, 0)
        assert ("release", 8, -8) in await ledger_of(stack, alice)


async def test_a_failed_generation_can_be_tried_again_with_the_same_values(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.fill("google-nano-banana", "A bridge in fog", "⏩ Defaults for all the rest")
    await quick.kie_control("task-outcome", {"outcome": "fail", "fail_msg": "internal error"})
    await j.confirm(8)
    failed = await j.failure()
    assert failed.buttons() == ["🔁 Try again"]
    await j.tap("🔁 Try again", on=failed)
    again = await j.confirmation()
    assert "• Prompt: A bridge in fog" in again.text and "Price: 8 💎" in again.text
    done = await j.generate(8)
    assert done.first_line == "✅ Nano Banana (#2): ready! Charged 8 💎."
    assert [t["input"]["prompt"] for t in await quick.kie_tasks()] == ["A bridge in fog", "A bridge in fog"]
