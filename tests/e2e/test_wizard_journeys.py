"""Wizard journeys: files, choices, booleans, per-character prices, bad answers, edits on the confirmation screen."""
from __future__ import annotations

from tests.e2e.conftest import TOKEN, Stack, balance_of, ledger_of
from tests.e2e.journey import Journey, grant
from tests.fakes import FakeUser


async def test_image_edit_uploads_the_photo_to_kie(stack: Stack, alice: FakeUser) -> None:
    j = Journey(stack, alice)
    await j.open_model("google-nano-banana-edit")
    step = await j.answer_text("Make the sky purple")
    assert "photos" in step.text
    await j.send_photo(width=800, height=600)
    await j.step(2, collected=1)
    await j.choose("✅ Done (1)")
    confirm = await j.defaults_for_the_rest()
    assert "1 file" in confirm.text and "Price: 8 💎" in confirm.text
    await j.generate(8)

    uploads = (await stack.kie_control("uploads"))["uploads"]
    assert len(uploads) == 1
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1 and tasks[0]["model"] == "google/nano-banana-edit"
    sent = tasks[0]["input"]
    assert sent["prompt"] == "Make the sky purple"
    assert sent["image_urls"] == [uploads[0]["downloadUrl"]]
    assert uploads[0]["downloadUrl"].startswith(stack.kie.url)
    raw = str(sent)
    assert TOKEN not in raw and "/file/bot" not in raw and stack.tg.base_url not in raw
    assert len(j.delivered("photo")) == 1
    assert await balance_of(stack, alice) == (92, 0)


async def test_image_to_video_with_duration_and_sound(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.home()
    await grant(stack, alice, 400)
    assert await balance_of(stack, alice) == (500, 0)

    await j.open_model("kling-2_6-i2v")
    await j.answer_text("The fox runs through the snow")
    sound = await j.answer_photo()  # one image at most: the step ends by itself
    assert j.step_number == 3
    assert "Yes" in sound.buttons() and "No" in sound.buttons()
    await j.choose("Yes")
    confirm = await j.choose("10")  # the duration: the last step
    assert "Price: 440 💎" in confirm.text  # 220 credits × markup 2
    assert "500 💎 → after: 60 💎" in confirm.text
    await j.generate(440)

    assert len(j.delivered("video")) == 1
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1
    sent = tasks[0]["input"]
    assert sent["duration"] == "10" and sent["sound"] is True
    assert sent["prompt"] == "The fox runs through the snow" and len(sent["image_urls"]) == 1
    assert await balance_of(stack, alice) == (60, 0)
    assert [k for k, _, _ in await ledger_of(stack, alice)] == ["bonus", "grant", "hold", "charge"]


async def test_text_to_speech_priced_per_character(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    text = ("Once upon a time there was a fox. " * 80)[:2500]
    assert len(text) == 2500
    await j.open_model("elevenlabs-tts-turbo-2-5")
    voices = await j.answer_text(text)
    assert "✓ James" in voices.buttons()  # the default, by its name, not its id
    assert "1/9" in voices.buttons()  # 67 voices, 8 a page
    await j.tap("▶")
    page2 = await j.step(2)
    assert "2/9" in page2.buttons() and "Eve" in page2.buttons()
    await j.choose("Eve")
    confirm = await j.defaults_for_the_rest()
    # 6 credits per 1000 characters × 2500 characters = 15 credits; × markup 2 = 30
    assert "Price: 30 💎" in confirm.text and "Voice: Eve" in confirm.text
    await j.generate(30)
    assert len(j.delivered("audio")) == 1
    tasks = await stack.kie_tasks()
    assert tasks[0]["input"]["text"] == text
    assert tasks[0]["input"]["voice"] == "BZgkqPqms7Kj9ulSkVzn"  # Eve
    assert await balance_of(stack, alice) == (70, 0)


async def test_bad_answers_are_asked_again_in_english(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.open_model("elevenlabs-tts-turbo-2-5")
    await j.answer_text("Hello there")
    await j.choose("James")
    await j.send_text("7")
    error = await j.reply("The number must be from 0 to 1")
    assert "Please try again." in error.text
    again = await j.step(3)
    assert "Stability" in again.text
    await j.answer_text("0.25")
    confirm = await j.defaults_for_the_rest()
    assert "• Text: Hello there" in confirm.text
    assert "• Voice: James" in confirm.text
    assert "• Stability: 0.25" in confirm.text


async def test_bad_answers_are_asked_again_in_russian(quick: Stack, boris: FakeUser) -> None:
    j = Journey(quick, boris)
    await j.open_model("kling-2_6-i2v")
    await j.send_text(("Лиса бежит " * 110)[:1200])  # the limit is 1000
    error = await j.reply("Текст слишком длинный: 1200 симв., а можно не больше 1000.")
    assert "Попробуйте ещё раз." in error.text
    await j.step(1)
    await j.answer_text("Лиса бежит по снегу")
    await j.send_sticker()
    error = await j.reply("Здесь нужно фото.")
    assert "Попробуйте ещё раз." in error.text
    await j.step(2)
    await j.answer_photo()
    await j.choose("Нет")
    confirm = await j.choose("5")
    assert "Лиса бежит по снегу" in confirm.text
    assert "1 файл" in confirm.text
    assert "Цена: 110 💎" in confirm.text  # 55 credits × 2
    assert "Не хватает 10 💎" in confirm.text
    assert await quick.kie_tasks() == []


async def test_edit_on_confirmation_changes_the_price(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    confirm = await j.fill("flux-2-pro-t2i", "A lighthouse at dusk", "⏭ Keep the default", "⏭ Keep the default",
                           "⏩ Defaults for all the rest")
    assert "Price: 10 💎" in confirm.text
    step = await j.edit("✏️ Resolution")
    assert "Resolution" in step.text
    confirm = await j.choose("2K")
    assert "Price: 14 💎" in confirm.text and "100 💎 → after: 86 💎" in confirm.text
    assert "• Resolution: 2K" in confirm.text and "• Prompt: A lighthouse at dusk" in confirm.text
    await j.generate(14)
    tasks = await stack.kie_tasks()
    assert tasks[0]["input"]["resolution"] == "2K"
    assert await balance_of(stack, alice) == (86, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -14, 14), ("charge", 0, -14)]
