"""Journeys across a bot restart, /history repeat and the language switch."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, balance_of, ledger_of, open_model, relaxed_flood, running_stack
from tests.fakes import FakeUser, make_png


@pytest.fixture
async def quick(tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack whose fake Telegram allows bursts (these journeys send many screens)."""
    async with running_stack(tmp_path, flood=relaxed_flood()) as s:
        yield s


async def test_form_survives_a_restart(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    await open_model(stack, alice, "flux-2-pro-t2i", "Flux 2 Pro Text-to-Image")
    await tg.send_text(alice, "A harbour at night")
    await tg.wait_for_message(alice.id, "step 2")
    await tg.click(alice, "16:9")
    step3 = await tg.wait_for_message(alice.id, "step 3")

    await stack.restart_bot()

    await tg.click(alice, "2K", message=step3)  # a button shown before the restart still works
    await tg.wait_for_message(alice.id, "step 4")
    await tg.click(alice, "⏩ Defaults for all the rest")
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    assert "• Prompt: A harbour at night" in confirm.text
    assert "• Aspect ratio: 16:9" in confirm.text
    assert "• Resolution: 2K" in confirm.text
    assert "Price: 14 💎" in confirm.text
    await tg.click(alice, "✅ Confirm — 14 💎")
    await tg.wait_for_message(alice.id, "ready!", timeout=20)
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1
    assert {k: tasks[0]["input"][k] for k in ("prompt", "aspect_ratio", "resolution")} == {
        "prompt": "A harbour at night", "aspect_ratio": "16:9", "resolution": "2K"}


async def test_generation_survives_a_restart(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    await open_model(stack, alice, "google-nano-banana", "Nano Banana")
    await tg.send_text(alice, "A mountain lake")
    await tg.wait_for_message(alice.id, "step 2")
    await tg.click(alice, "⏩ Defaults for all the rest")
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    await stack.kie_control("task-outcome", {"outcome": "slow", "generate_s": 3})
    await tg.click(alice, "✅ Confirm — 8 💎", message=confirm)
    await tg.wait_for_message(alice.id, "generating", timeout=15)

    await stack.restart_bot()

    await tg.wait_for(lambda: any(m.media_type == "photo" for m in tg.messages(alice.id)), timeout=20)
    done = await tg.wait_for_message(alice.id, "ready!", since=0, timeout=10)
    assert "Charged 8 💎" in done.text
    assert len([m for m in tg.messages(alice.id) if m.media_type == "photo"]) == 1
    assert len([m for m in tg.messages(alice.id) if "ready!" in m.content]) == 1
    assert len(await stack.kie_tasks()) == 1
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]
    assert await balance_of(stack, alice) == (92, 0)


async def test_history_repeat_sends_the_same_input(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    await open_model(stack, alice, "flux-2-pro-t2i", "Flux 2 Pro Text-to-Image")
    await tg.send_text(alice, "A red kite over hills")
    await tg.wait_for_message(alice.id, "step 2")
    await tg.click(alice, "3:4")
    await tg.wait_for_message(alice.id, "step 3")
    await tg.click(alice, "2K")
    await tg.wait_for_message(alice.id, "step 4")
    await tg.click(alice, "⏩ Defaults for all the rest")
    await tg.wait_for_message(alice.id, "check the parameters")
    await tg.click(alice, "✅ Confirm — 14 💎")
    await tg.wait_for_message(alice.id, "ready!", timeout=20)

    await tg.send_command(alice, "/history")
    history = await tg.wait_for_message(alice.id, "Recent generations")
    assert "#1 · Flux 2 Pro Text-to-Image · done · 14 💎" in history.text
    await tg.click(alice, "🔁 Repeat #1")
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    assert "• Prompt: A red kite over hills" in confirm.text
    assert "• Aspect ratio: 3:4" in confirm.text and "• Resolution: 2K" in confirm.text
    assert "Price: 14 💎" in confirm.text and "86 💎 → after: 72 💎" in confirm.text
    await tg.click(alice, "✅ Confirm — 14 💎")
    await tg.wait_for_message(alice.id, "(#2): ready!", timeout=20)
    tasks = await stack.kie_tasks()
    assert len(tasks) == 2
    assert tasks[1]["model"] == tasks[0]["model"] == "flux-2/pro-text-to-image"
    assert tasks[1]["input"] == tasks[0]["input"]
    assert await balance_of(stack, alice) == (72, 0)


async def test_language_switch_to_russian(quick: Stack, alice: FakeUser) -> None:
    tg = quick.tg
    await tg.send_command(alice, "/start")
    home = await tg.wait_for_message(alice.id, "Balance: 100 💎")
    assert "🎨 Create" in home.buttons()
    await tg.send_command(alice, "/language")
    await tg.wait_for_message(alice.id, "Choose your language")
    query = await tg.click(alice, "Русский")
    home = await tg.wait_for_message(alice.id, "Баланс")
    assert "🎨 Создать" in home.buttons()
    await tg.wait_for(lambda: query in tg.callback_answers)
    assert tg.callback_answers[query].get("text") == "Язык переключён на русский."
    await tg.send_command(alice, "/help")
    help_text = await tg.wait_for_message(alice.id, "Как это работает")
    assert "/models" in help_text.text
    await tg.send_command(alice, "/balance")
    await tg.wait_for_message(alice.id, "Ваш баланс: 100 💎")
    await tg.send_command(alice, "/start", args="m_google-nano-banana")  # the choice outlives Telegram's en
    card = await tg.wait_for_message(alice.id, "8 💎")
    assert "▶ Начать" in card.buttons()


async def test_history_edit_keeps_the_uploaded_images(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    await open_model(stack, alice, "google-nano-banana-edit", "Nano Banana Edit")
    await tg.send_text(alice, "Make it blue")
    await tg.wait_for_message(alice.id, "step 2")
    await tg.send_document(alice, make_png(300, 200), "pic.png", "image/png")  # an image sent as a file
    await tg.wait_for_message(alice.id, "Received files: 1")
    await tg.send_photo(alice)
    await tg.wait_for_message(alice.id, "Received files: 2")
    await tg.click(alice, "✅ Done (2)")
    await tg.wait_for_message(alice.id, "step 3")
    await tg.click(alice, "⏩ Defaults for all the rest")
    await tg.wait_for_message(alice.id, "• Images: 2 files")
    await tg.click(alice, "✅ Confirm — 8 💎")
    await tg.wait_for_message(alice.id, "ready!", timeout=20)

    await tg.send_command(alice, "/history")
    await tg.wait_for_message(alice.id, "Recent generations")
    await tg.click(alice, "✏️ Edit #1")
    step = await tg.wait_for_message(alice.id, "Prompt")
    assert "step 1 of 4" in step.text  # the prompt is the first parameter
    assert "Now: Make it blue" in step.text
    await tg.send_text(alice, "Make it green")
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    assert "• Prompt: Make it green" in confirm.text and "• Images: 2 files" in confirm.text
    await tg.click(alice, "✅ Confirm — 8 💎")
    await tg.wait_for_message(alice.id, "(#2): ready!", timeout=20)
    first, second = await stack.kie_tasks()
    assert second["input"]["image_urls"] == first["input"]["image_urls"]
    assert len(first["input"]["image_urls"]) == 2
    assert second["input"]["prompt"] == "Make it green"
    assert len((await stack.kie_control("uploads"))["uploads"]) == 2  # nothing uploaded again
    assert await balance_of(stack, alice) == (84, 0)
