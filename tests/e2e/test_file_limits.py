"""Files the bot cannot take: too big for Telegram to hand over, or longer than the price was made for."""
from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import open_model, running_stack
from tests.fakes import FakeUser, FloodLimits, make_png

USER = FakeUser(4001, "Files", "en")


async def test_a_file_over_20_mb_is_refused_and_the_step_asked_again(tmp_path: Path) -> None:
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        tg = stack.tg
        await open_model(stack, USER, "google-nano-banana-edit", "Nano Banana Edit")
        await tg.send_text(USER, "Make it winter")
        await tg.wait_for_message(USER.id, "step 2")
        await tg.send_document(USER, make_png(64, 64), "huge.png", "image/png", size=25 * 1024 * 1024)
        error = await tg.wait_for_message(USER.id, "larger than 20 MB")
        assert "smaller" in error.text
        again = await tg.wait_for_message(USER.id, "step 2")
        assert "Input images" in again.text or "Images" in again.text
        assert not tg.calls("getFile")  # refused from its declared size: nothing was downloaded
        await tg.send_photo(USER)
        await tg.wait_for_message(USER.id, "Received files: 1")


async def test_audio_longer_than_the_priced_cap_is_refused(tmp_path: Path) -> None:
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        tg = stack.tg
        await open_model(stack, USER, "infinitalk-from-audio", "InfiniteTalk")
        await tg.send_photo(USER)
        await tg.wait_for_message(USER.id, "step 2")
        await tg.send_audio(USER, duration=60)
        error = await tg.wait_for_message(USER.id, "60 s long")
        assert "at most 15 s" in error.text
        await tg.send_audio(USER, duration=10)
        await tg.wait_for_message(USER.id, "step 3")
        await tg.send_text(USER, "A friendly greeting")
        await tg.wait_for_message(USER.id, "step 4")
        await tg.click(USER, "⏩ Defaults for all the rest")
        confirm = await tg.wait_for_message(USER.id, "check the parameters")
        # 480p by default: 3 credits per second × 10 s × markup 2 = 60 (the length Telegram reported, not the cap)
        assert "Price: 60 💎" in confirm.text, confirm.text
