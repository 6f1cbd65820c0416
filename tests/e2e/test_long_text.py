"""A prompt longer than one Telegram message: sent in parts, or as a .txt file, it is joined — the second
part is never taken as the answer to the next step."""
from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import running_stack
from tests.e2e.journey import Journey
from tests.fakes import FakeUser, FloodLimits

USER = FakeUser(3001, "Long", "en")


async def test_a_prompt_in_three_messages_is_joined(tmp_path: Path) -> None:
    parts = ["a" * 4096, "b" * 4096, "c" * 1200]  # how a Telegram client splits a 9392-character text
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        j = Journey(stack, USER)
        await j.open_model("nano-banana-2")
        await j.send_text(parts[0])
        await j.reply("Got a part of the text (4096 characters so far)")
        await j.send_text(parts[1])
        await j.reply("Got a part of the text (8192 characters so far)")
        step = await j.answer_text(parts[2])
        assert "Aspect ratio" in step.text  # the last part was not taken for the next step's answer
        await j.defaults_for_the_rest()
        await j.confirm()
        await j.result()
        tasks = await stack.kie_tasks()
        assert tasks[0]["input"]["prompt"] == "".join(parts)


async def test_a_part_of_exactly_one_message_can_be_closed_with_a_button(tmp_path: Path) -> None:
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        j = Journey(stack, USER)
        await j.open_model("nano-banana-2")
        await j.send_text("x" * 4050)
        await j.reply("Got a part of the text (4050 characters so far)")
        await j.choose("✅ That is the whole text")  # step 2


async def test_a_prompt_as_a_txt_file(tmp_path: Path) -> None:
    text = "Туманное утро над озером. " * 400  # 10399 characters once stripped: over the 10000 of nano-banana-pro
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        j = Journey(stack, USER)
        await j.open_model("nano-banana-2")
        await j.send_document(text[:9000].encode("utf-8"), "prompt.txt", "text/plain")
        await j.step(2)
        summary = await j.defaults_for_the_rest()
        assert "Туманное утро" in summary.text and "…" in summary.text  # a long value is shortened
        await j.open_model("nano-banana-pro")
        await j.send_document(text.encode("utf-8"), "prompt.txt", "text/plain")
        error = await j.reply("The text is too long")
        assert "10399 characters, the limit is 10000" in error.text


async def test_parts_stop_at_the_fields_limit_with_a_clear_message(tmp_path: Path) -> None:
    async with running_stack(tmp_path, flood=FloodLimits(enabled=False)) as stack:
        j = Journey(stack, USER)
        await j.open_model("nano-banana-pro")  # a prompt of at most 10000 characters
        await j.send_text("a" * 4096)
        await j.reply("Got a part of the text (4096 characters so far)")
        await j.send_text("b" * 4096)
        part = await j.reply("Got a part of the text (8192 characters so far)")
        await j.send_text("c" * 4096)  # 12288 characters: over the limit
        await j.reply(j.texts("err-text-parts-too-long", chars=8192, max=10000))
        await j.tap("✅ That is the whole text", on=part)  # what came so far is kept
        await j.step(2)
        await j.defaults_for_the_rest()
        await j.confirm()
        await j.result()
        assert (await stack.kie_tasks())[0]["input"]["prompt"] == "a" * 4096 + "b" * 4096
