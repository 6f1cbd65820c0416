"""Files the bot cannot take: too big for Telegram to hand over, or longer than the price was made for."""
from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import running_stack
from tests.e2e.journey import Journey
from tests.fakes import FakeUser, FloodLimits, make_png

USER = FakeUser(4001, "Files", "en")


async def test_a_file_over_20_mb_is_refused_and_the_step_asked_again(tmp_path: Path) -> None:
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        j = Journey(stack, USER)
        await j.open_model("google-nano-banana-edit")
        await j.answer_text("Make it winter")
        await j.send_document(make_png(64, 64), "huge.png", "image/png", size=25 * 1024 * 1024)
        error = await j.reply("The file is larger than 20 MB")
        assert "smaller" in error.text
        again = await j.step(2)
        assert "Input images" in again.text or "Images" in again.text
        assert not stack.tg.calls("getFile")  # refused from its declared size: nothing was downloaded
        await j.send_photo()
        await j.step(2, collected=1)


async def test_audio_longer_than_the_priced_cap_is_refused(tmp_path: Path) -> None:
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        j = Journey(stack, USER)
        await j.open_model("infinitalk-from-audio")
        await j.answer_photo()
        await j.send_audio(duration=60)
        error = await j.reply("The file is 60 s long")
        assert "at most 15 s" in error.text
        await j.send_audio(duration=10)
        await j.step(3)
        await j.answer_text("A friendly greeting")
        confirm = await j.defaults_for_the_rest()
        # 480p by default: 3 credits per second × 10 s × markup 2 = 60 (the length Telegram reported, not the cap)
        assert "Price: 60 💎" in confirm.text, confirm.text
