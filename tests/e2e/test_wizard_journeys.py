"""Wizard journeys: files, choices, booleans, per-character prices, bad answers, edits on the confirmation screen."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    TOKEN,
    Stack,
    balance_of,
    grant,
    ledger_of,
    open_model,
    relaxed_flood,
    running_stack,
)
from tests.fakes import FakeUser


@pytest.fixture
async def quick(tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack whose fake Telegram allows bursts (these journeys send many screens)."""
    async with running_stack(tmp_path, flood=relaxed_flood()) as s:
        yield s


def photos(stack: Stack, user: FakeUser) -> list:
    return [m for m in stack.tg.messages(user.id) if m.media_type == "photo"]


async def test_image_edit_uploads_the_photo_to_kie(stack: Stack, alice: FakeUser) -> None:
    tg = stack.tg
    await open_model(stack, alice, "google-nano-banana-edit", "Nano Banana Edit")
    await tg.send_text(alice, "Make the sky purple")
    step = await tg.wait_for_message(alice.id, "step 2")
    assert "photos" in step.text
    await tg.send_photo(alice, width=800, height=600)
    step = await tg.wait_for_message(alice.id, "Received files: 1")
    await tg.click(alice, "✅ Done (1)")
    await tg.wait_for_message(alice.id, "step 3")
    await tg.click(alice, "⏩ Defaults for all the rest")
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    assert "1 file" in confirm.text and "Price: 8 💎" in confirm.text
    await tg.click(alice, "✅ Confirm — 8 💎")
    done = await tg.wait_for_message(alice.id, "ready!", timeout=20)
    assert "Charged 8 💎" in done.text

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
    assert len(photos(stack, alice)) == 1
    assert await balance_of(stack, alice) == (92, 0)


async def test_image_to_video_with_duration_and_sound(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    await tg.send_command(alice, "/start")
    await tg.wait_for_message(alice.id, "Balance")
    await grant(stack, alice, 400)
    assert await balance_of(stack, alice) == (500, 0)

    await open_model(stack, alice, "kling-2_6-i2v", "Kling 2.6 Image-to-Video")
    await tg.send_text(alice, "The fox runs through the snow")
    await tg.wait_for_message(alice.id, "step 2")
    await tg.send_photo(alice)
    sound = await tg.wait_for_message(alice.id, "step 3")  # one image at most: the step ends by itself
    assert "Yes" in sound.buttons() and "No" in sound.buttons()
    await tg.click(alice, "Yes")
    duration = await tg.wait_for_message(alice.id, "step 4")
    await tg.click(alice, "10", message=duration)
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    assert "Price: 440 💎" in confirm.text  # 220 credits × markup 2
    assert "500 💎 → after: 60 💎" in confirm.text
    await tg.click(alice, "✅ Confirm — 440 💎")
    done = await tg.wait_for_message(alice.id, "ready!", timeout=20)
    assert "Charged 440 💎" in done.text

    videos = [m for m in tg.messages(alice.id) if m.media_type == "video"]
    assert len(videos) == 1
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1
    sent = tasks[0]["input"]
    assert sent["duration"] == "10" and sent["sound"] is True
    assert sent["prompt"] == "The fox runs through the snow" and len(sent["image_urls"]) == 1
    assert await balance_of(stack, alice) == (60, 0)
    assert [k for k, _, _ in await ledger_of(stack, alice)] == ["bonus", "grant", "hold", "charge"]


async def test_text_to_speech_priced_per_character(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    text = ("Once upon a time there was a fox. " * 80)[:2500]
    assert len(text) == 2500
    await open_model(stack, alice, "elevenlabs-tts-turbo-2-5", "ElevenLabs Turbo 2.5")
    await tg.send_text(alice, text)
    voices = await tg.wait_for_message(alice.id, "step 2")
    assert "✓ James" in voices.buttons()  # the default, by its name, not its id
    assert "1/9" in voices.buttons()  # 67 voices, 8 a page
    await tg.click(alice, "▶", message=voices)
    page2 = await tg.wait_for_message(alice.id, "step 2", predicate=lambda m: "2/9" in m.buttons())
    assert "Eve" in page2.buttons()
    await tg.click(alice, "Eve", message=page2)
    await tg.wait_for_message(alice.id, "step 3")
    await tg.click(alice, "⏩ Defaults for all the rest")
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    # 6 credits per 1000 characters × 2500 characters = 15 credits; × markup 2 = 30
    assert "Price: 30 💎" in confirm.text and "Voice: Eve" in confirm.text
    await tg.click(alice, "✅ Confirm — 30 💎")
    done = await tg.wait_for_message(alice.id, "ready!", timeout=20)
    assert "Charged 30 💎" in done.text
    assert len([m for m in tg.messages(alice.id) if m.media_type == "audio"]) == 1
    tasks = await stack.kie_tasks()
    assert tasks[0]["input"]["text"] == text
    assert tasks[0]["input"]["voice"] == "BZgkqPqms7Kj9ulSkVzn"  # Eve
    assert await balance_of(stack, alice) == (70, 0)


async def test_bad_answers_are_asked_again_in_english(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    await open_model(stack, alice, "elevenlabs-tts-turbo-2-5", "ElevenLabs Turbo 2.5")
    await tg.send_text(alice, "Hello there")
    await tg.wait_for_message(alice.id, "step 2")
    await tg.click(alice, "James")
    await tg.wait_for_message(alice.id, "step 3")
    await tg.send_text(alice, "7")
    error = await tg.wait_for_message(alice.id, "The number must be from 0 to 1")
    assert "Please try again." in error.text
    again = await tg.wait_for_message(alice.id, "step 3")
    assert "Stability" in again.text
    await tg.send_text(alice, "0.25")
    await tg.wait_for_message(alice.id, "step 4")
    await tg.click(alice, "⏩ Defaults for all the rest")
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    assert "• Text: Hello there" in confirm.text
    assert "• Voice: James" in confirm.text
    assert "• Stability: 0.25" in confirm.text


async def test_bad_answers_are_asked_again_in_russian(quick: Stack, boris: FakeUser) -> None:
    stack, tg = quick, quick.tg
    await open_model(stack, boris, "kling-2_6-i2v", "Kling 2.6")
    await tg.send_text(boris, ("Лиса бежит " * 110)[:1200])  # the limit is 1000
    error = await tg.wait_for_message(boris.id, "Текст слишком длинный: 1200 симв., а можно не больше 1000.")
    assert "Попробуйте ещё раз." in error.text
    await tg.wait_for_message(boris.id, "шаг 1")
    await tg.send_text(boris, "Лиса бежит по снегу")
    await tg.wait_for_message(boris.id, "шаг 2")
    await tg.send_sticker(boris)
    error = await tg.wait_for_message(boris.id, "Здесь нужно фото.")
    assert "Попробуйте ещё раз." in error.text
    await tg.wait_for_message(boris.id, "шаг 2")
    await tg.send_photo(boris)
    await tg.wait_for_message(boris.id, "шаг 3")
    await tg.click(boris, "Нет")
    await tg.wait_for_message(boris.id, "шаг 4")
    await tg.click(boris, "5")
    confirm = await tg.wait_for_message(boris.id, "проверьте параметры")
    assert "Лиса бежит по снегу" in confirm.text
    assert "1 файл" in confirm.text
    assert "Цена: 110 💎" in confirm.text  # 55 credits × 2
    assert "Не хватает 10 💎" in confirm.text
    assert await stack.kie_tasks() == []


async def test_edit_on_confirmation_changes_the_price(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    await open_model(stack, alice, "flux-2-pro-t2i", "Flux 2 Pro Text-to-Image")
    await tg.send_text(alice, "A lighthouse at dusk")
    await tg.wait_for_message(alice.id, "step 2")
    await tg.click(alice, "⏭ Keep the default")
    await tg.wait_for_message(alice.id, "step 3")
    await tg.click(alice, "⏭ Keep the default")
    await tg.wait_for_message(alice.id, "step 4")
    await tg.click(alice, "⏩ Defaults for all the rest")
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    assert "Price: 10 💎" in confirm.text
    await tg.click(alice, "✏️ Resolution")
    step = await tg.wait_for_message(alice.id, "Resolution")
    await tg.click(alice, "2K", message=step)
    confirm = await tg.wait_for_message(alice.id, "check the parameters")
    assert "Price: 14 💎" in confirm.text and "100 💎 → after: 86 💎" in confirm.text
    assert "• Resolution: 2K" in confirm.text and "• Prompt: A lighthouse at dusk" in confirm.text
    await tg.click(alice, "✅ Confirm — 14 💎")
    done = await tg.wait_for_message(alice.id, "ready!", timeout=20)
    assert "Charged 14 💎" in done.text
    tasks = await stack.kie_tasks()
    assert tasks[0]["input"]["resolution"] == "2K"
    assert await balance_of(stack, alice) == (86, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -14, 14), ("charge", 0, -14)]
