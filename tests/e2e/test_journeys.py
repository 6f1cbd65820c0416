"""Whole journeys through the real polling loop, the fake Telegram API and the KIE emulator."""
from __future__ import annotations

from tests.e2e.conftest import Stack
from tests.fakes import FakeUser


async def balance_of(stack: Stack, user: FakeUser) -> tuple[int, int]:
    from kiebot.store import wallet

    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        return await wallet.get_balance(session, user.id)


async def test_text_to_image_with_defaults(stack: Stack, alice: FakeUser) -> None:
    tg = stack.tg
    await tg.send_command(alice, "/start", args="m_google-nano-banana")
    card = await tg.wait_for_message(alice.id, "Nano Banana")
    assert "8 💎" in card.text  # 4 credits × markup 2
    await tg.click(alice, "▶ Start")
    await tg.wait_for_message(alice.id, "step 1")
    await tg.send_text(alice, "A red fox in the snow")
    await tg.wait_for_message(alice.id, "step 2")
    await tg.click(alice, "⏩ Defaults for all the rest")
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    assert "Price: 8 💎" in confirm.text and "100 💎 → after: 92 💎" in confirm.text
    await tg.click(alice, "✅ Confirm — 8 💎")
    done = await tg.wait_for_message(alice.id, "ready!", timeout=20)
    assert "Charged 8 💎" in done.text
    photos = [m for m in tg.messages(alice.id) if m.media_type == "photo"]
    assert len(photos) == 1
    assert await balance_of(stack, alice) == (92, 0)
    tasks = await stack.kie_tasks()
    assert tasks[0]["model"] == "google/nano-banana"
    assert tasks[0]["input"]["prompt"] == "A red fox in the snow"
