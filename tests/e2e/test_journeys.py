"""Whole journeys through the real polling loop, the fake Telegram API and the KIE emulator."""
from __future__ import annotations

from tests.e2e.conftest import Stack, balance_of
from tests.e2e.journey import Journey
from tests.fakes import FakeUser


async def test_text_to_image_with_defaults(stack: Stack, alice: FakeUser) -> None:
    j = Journey(stack, alice)
    card = await j.open_card("google-nano-banana")
    assert card.first_line == "Nano Banana" and "8 💎" in card.text  # 4 credits × markup 2
    await j.start()
    await j.answer_text("A red fox in the snow")
    confirm = await j.defaults_for_the_rest()
    assert "Price: 8 💎" in confirm.text and "100 💎 → after: 92 💎" in confirm.text
    await j.generate(8)
    assert len(j.delivered("photo")) == 1
    assert await balance_of(stack, alice) == (92, 0)
    tasks = await stack.kie_tasks()
    assert tasks[0]["model"] == "google/nano-banana"
    assert tasks[0]["input"]["prompt"] == "A red fox in the snow"
