"""A prompt longer than one Telegram message: sent in parts, or as a .txt file, it is joined — the second
part is never taken as the answer to the next step."""
from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Stack, running_stack
from tests.fakes import FakeUser, FloodLimits

USER = FakeUser(3001, "Long", "en")


async def open_prompt_step(stack: Stack) -> None:
    await stack.tg.send_command(USER, "/start", args="m_nano-banana-2")
    await stack.tg.wait_for_message(USER.id, predicate=lambda m: "▶ Start" in m.buttons())
    await stack.tg.click(USER, "▶ Start")
    await stack.tg.wait_for_message(USER.id, "step 1")


async def test_a_prompt_in_three_messages_is_joined(tmp_path: Path) -> None:
    parts = ["a" * 4096, "b" * 4096, "c" * 1200]  # how a Telegram client splits a 9392-character text
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        await open_prompt_step(stack)
        await stack.tg.send_text(USER, parts[0])
        await stack.tg.wait_for_message(USER.id, "Got a part of the text (4096 characters so far)")
        await stack.tg.send_text(USER, parts[1])
        await stack.tg.wait_for_message(USER.id, "8192 characters so far")
        await stack.tg.send_text(USER, parts[2])
        step = await stack.tg.wait_for_message(USER.id, "step 2")
        assert "Aspect ratio" in step.text  # the last part was not taken for the next step's answer
        await stack.tg.click(USER, "⏩ Defaults for all the rest")
        await stack.tg.wait_for_message(USER.id, "check the parameters")
        await stack.tg.click(USER, next(b for b in stack.tg.last_message(USER.id).buttons() if b.startswith("✅ Confirm")))
        await stack.tg.wait_for_message(USER.id, "ready!", timeout=20)
        tasks = await stack.kie_tasks()
        assert tasks[0]["input"]["prompt"] == "".join(parts)


async def test_a_part_of_exactly_one_message_can_be_closed_with_a_button(tmp_path: Path) -> None:
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        await open_prompt_step(stack)
        await stack.tg.send_text(USER, "x" * 4050)
        await stack.tg.wait_for_message(USER.id, "4050 characters so far")
        await stack.tg.click(USER, "✅ That is the whole text")
        await stack.tg.wait_for_message(USER.id, "step 2")


async def test_a_prompt_as_a_txt_file(tmp_path: Path) -> None:
    text = "Туманное утро над озером. " * 400  # 10399 characters once stripped: over the 10000 of nano-banana-pro
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        await open_prompt_step(stack)
        await stack.tg.send_document(USER, text[:9000].encode("utf-8"), "prompt.txt", "text/plain")
        await stack.tg.wait_for_message(USER.id, "step 2")
        await stack.tg.click(USER, "⏩ Defaults for all the rest")
        summary = await stack.tg.wait_for_message(USER.id, "check the parameters")
        assert "Туманное утро" in summary.text and "…" in summary.text  # a long value is shortened
        await stack.tg.send_command(USER, "/start", args="m_nano-banana-pro")
        await stack.tg.wait_for_message(USER.id, predicate=lambda m: "▶ Start" in m.buttons())
        await stack.tg.click(USER, "▶ Start")
        await stack.tg.wait_for_message(USER.id, "step 1")
        await stack.tg.send_document(USER, text.encode("utf-8"), "prompt.txt", "text/plain")
        error = await stack.tg.wait_for_message(USER.id, "too long")
        assert "10399 characters, the limit is 10000" in error.text
