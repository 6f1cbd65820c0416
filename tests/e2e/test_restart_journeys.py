"""Journeys across a bot restart, /history repeat and the language switch."""
from __future__ import annotations

from tests.e2e.conftest import Stack, balance_of, ledger_of
from tests.e2e.journey import Journey
from tests.e2e.texts import Texts
from tests.fakes import FakeUser, make_png


async def test_form_survives_a_restart(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.open_model("flux-2-pro-t2i")
    await j.answer_text("A harbour at night")
    await j.choose("16:9")  # step 3 is shown

    await stack.restart_bot()

    await j.choose("2K")  # a button shown before the restart still works
    confirm = await j.defaults_for_the_rest()
    assert "• Prompt: A harbour at night" in confirm.text
    assert "• Aspect ratio: 16:9" in confirm.text
    assert "• Resolution: 2K" in confirm.text
    assert "Price: 14 💎" in confirm.text
    await j.generate(14)
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1
    assert {k: tasks[0]["input"][k] for k in ("prompt", "aspect_ratio", "resolution")} == {
        "prompt": "A harbour at night", "aspect_ratio": "16:9", "resolution": "2K"}


async def test_generation_survives_a_restart(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.fill("google-nano-banana", "A mountain lake", "⏩ Defaults for all the rest")
    await stack.kie_control("task-outcome", {"outcome": "slow", "generate_s": 3})
    await j.confirm(8)
    await j.status("generating", timeout=15)

    await stack.restart_bot()

    done = await j.result(timeout=30)
    assert "Charged 8 💎" in done.text
    assert len(j.delivered("photo")) == 1
    assert len([m for m in quick.tg.messages(alice.id) if "ready!" in m.content]) == 1
    assert len(await stack.kie_tasks()) == 1
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]
    assert await balance_of(stack, alice) == (92, 0)


async def test_history_repeat_sends_the_same_input(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.fill("flux-2-pro-t2i", "A red kite over hills", "3:4", "2K", "⏩ Defaults for all the rest")
    await j.generate(14)

    history = await j.history()
    assert "#1 · Flux 2 Pro Text-to-Image · done · 14 💎" in history.text
    confirm = await j.repeat(1)
    assert "• Prompt: A red kite over hills" in confirm.text
    assert "• Aspect ratio: 3:4" in confirm.text and "• Resolution: 2K" in confirm.text
    assert "Price: 14 💎" in confirm.text and "86 💎 → after: 72 💎" in confirm.text
    done = await j.generate(14)
    assert "(#2): ready!" in done.text
    tasks = await stack.kie_tasks()
    assert len(tasks) == 2
    assert tasks[1]["model"] == tasks[0]["model"] == "flux-2/pro-text-to-image"
    assert tasks[1]["input"] == tasks[0]["input"]
    assert await balance_of(stack, alice) == (72, 0)


async def test_language_switch_to_russian(quick: Stack, alice: FakeUser) -> None:
    tg, j = quick.tg, Journey(quick, alice)
    home = await j.home()
    assert "Balance: 100 💎" in home.text and "🎨 Create" in home.buttons()
    await j.command("/language")
    await j.shown("choose-language")
    query = await j.tap("Русский")
    j.texts = Texts("ru")  # from here on the bot speaks Russian
    home = await j.shown("home")
    assert "Баланс" in home.text and "🎨 Создать" in home.buttons()
    await tg.wait_for(lambda: query in tg.callback_answers)
    assert tg.callback_answers[query].get("text") == "Язык переключён на русский."
    await j.command("/help")
    help_text = await j.reply("Как это работает")
    assert "/models" in help_text.text
    await j.command("/balance")
    await j.reply("Ваш баланс: 100 💎")
    card = await j.open_card("google-nano-banana")  # the choice outlives Telegram's en
    assert "8 💎" in card.text and "▶ Начать" in card.buttons()


async def test_history_edit_keeps_the_uploaded_images(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.open_model("google-nano-banana-edit")
    await j.answer_text("Make it blue")
    await j.send_document(make_png(300, 200), "pic.png", "image/png")  # an image sent as a file
    await j.step(2, collected=1)
    await j.send_photo()
    await j.step(2, collected=2)
    await j.choose("✅ Done (2)")
    confirm = await j.defaults_for_the_rest()
    assert "• Images: 2 files" in confirm.text
    await j.generate(8)

    await j.history()
    step = await j.edit("✏️ Edit #1")
    assert "Prompt" in step.text
    assert "step 1 of 4" in step.text  # the prompt is the first parameter
    assert "Now: Make it blue" in step.text
    confirm = await j.answer_text("Make it green")
    assert "• Prompt: Make it green" in confirm.text and "• Images: 2 files" in confirm.text
    done = await j.generate(8)
    assert "(#2): ready!" in done.text
    first, second = await stack.kie_tasks()
    assert second["input"]["image_urls"] == first["input"]["image_urls"]
    assert len(first["input"]["image_urls"]) == 2
    assert second["input"]["prompt"] == "Make it green"
    assert len((await stack.kie_control("uploads"))["uploads"]) == 2  # nothing uploaded again
    assert await balance_of(stack, alice) == (84, 0)
