"""Money journeys: holds, charges and refunds as the user sees them and as the ledger records them."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.conftest import ADMIN, Stack, balance_of, ledger_of, open_model, relaxed_flood, running_stack
from tests.fakes import FakeMessage, FakeUser


@pytest.fixture
async def quick(tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack whose fake Telegram allows bursts (these journeys send many screens)."""
    async with running_stack(tmp_path, flood=relaxed_flood()) as s:
        yield s


async def image_confirmation(stack: Stack, user: FakeUser, prompt: str) -> Any:
    """Nano Banana with defaults, up to the confirmation screen (8 💎)."""
    tg = stack.tg
    await open_model(stack, user, "google-nano-banana", "Nano Banana")
    await tg.send_text(user, prompt)
    await tg.wait_for_message(user.id, "step 2")
    await tg.click(user, "⏩ Defaults for all the rest")
    confirm = await tg.wait_for_message(user.id, "check the parameters")
    assert "Price: 8 💎" in confirm.text
    return confirm


async def jobs_of(stack: Stack, user: FakeUser) -> list[Any]:
    from kiebot.store.models import Job

    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        return list((await session.execute(select(Job).where(Job.user_id == user.id).order_by(Job.id))).scalars())


async def test_double_confirm_starts_one_generation(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    confirm = await image_confirmation(stack, alice, "A castle in the clouds")
    data = confirm.find_button("✅ Confirm — 8 💎")["callback_data"]
    first = await tg.press(alice, confirm, data)
    second = await tg.press(alice, confirm, data)
    done = await tg.wait_for_message(alice.id, "ready!", timeout=20)
    assert "Charged 8 💎" in done.text
    await tg.wait_for(lambda: first in tg.callback_answers and second in tg.callback_answers)
    answers = sorted(str(tg.callback_answers[q].get("text")) for q in (first, second))
    late = {"This generation has already started.", "This button is from an older screen. Use the latest message."}
    assert answers[0] == "Started!" and answers[1] in late
    assert len(await stack.kie_tasks()) == 1
    assert len([m for m in tg.messages(alice.id) if m.media_type == "photo"]) == 1
    assert len([m for m in tg.messages(alice.id) if "ready!" in m.content]) == 1
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]
    assert await balance_of(stack, alice) == (92, 0)


async def test_not_enough_balance_starts_nothing(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    confirm = await video_confirmation(stack, alice)
    assert "Price: 110 💎" in confirm.text  # 55 credits × 2
    assert "100 💎 → after: -10 💎" in confirm.text
    assert "You are 10 💎 short" in confirm.text
    await tg.click(alice, "✅ Confirm — 110 💎")
    refusal = await tg.wait_for_message(alice.id, "Not enough balance")
    assert "you are 10 💎 short (balance: 100 💎)" in refusal.text
    assert await stack.kie_tasks() == []
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0)]
    assert await jobs_of(stack, alice) == []


async def test_failed_generation_is_refunded(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    confirm = await image_confirmation(stack, alice, "Something the model refuses")
    await stack.kie_control("task-outcome", {"outcome": "fail", "fail_msg": "content policy violation"})
    await tg.click(alice, "✅ Confirm — 8 💎", message=confirm)
    failed = await tg.wait_for_message(alice.id, "❌", timeout=20)
    assert "the model refused the request under its content rules." in failed.text
    assert "The held 8 💎 are back on your balance." in failed.text
    assert "content policy violation" not in failed.text  # KIE's own words are never shown as they are
    assert not [m for m in tg.messages(alice.id) if m.media_type == "photo"]
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("release", 8, -8)]
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1 and tasks[0]["state"] == "fail"


async def test_create_task_402_refunds_and_alerts_the_operator(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    await tg.send_command(ADMIN, "/start")
    await tg.wait_for_message(ADMIN.id, "Balance")
    confirm = await image_confirmation(stack, alice, "A bridge over a river")
    await stack.kie_control("fail", {"code": 402, "endpoint": "createTask"})
    await tg.click(alice, "✅ Confirm — 8 💎", message=confirm)
    failed = await tg.wait_for_message(alice.id, "❌", timeout=20)
    assert "The held 8 💎 are back on your balance." in failed.text
    alert = await tg.wait_for_message(ADMIN.id, "⚠️", since=0)
    # In the admin's /language choice, else DEFAULT_LANGUAGE (ru).
    assert alert.text == "⚠️ На счёте KIE закончились кредиты: новые генерации приостановлены. Пополните счёт KIE."
    assert await stack.kie_tasks() == []
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("release", 8, -8)]


async def test_create_task_429_is_retried(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    confirm = await image_confirmation(stack, alice, "A bridge over a river")
    await stack.kie_control("fail", {"code": 429, "endpoint": "createTask", "times": 1})
    await tg.click(alice, "✅ Confirm — 8 💎", message=confirm)
    done = await tg.wait_for_message(alice.id, "ready!", timeout=20)
    assert "Charged 8 💎" in done.text
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1 and tasks[0]["input"]["prompt"] == "A bridge over a river"
    assert len([m for m in tg.messages(alice.id) if m.media_type == "photo"]) == 1
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]


async def test_second_generation_waits_in_line(tmp_path: Path, alice: FakeUser) -> None:
    async with running_stack(tmp_path, flood=relaxed_flood(), max_active_per_user=1) as stack:
        tg = stack.tg
        # Long enough for the second form to be filled while the first one runs.
        await stack.kie_control("task-outcome", {"outcome": "slow", "generate_s": 12})
        confirm = await image_confirmation(stack, alice, "First picture")
        await tg.click(alice, "✅ Confirm — 8 💎", message=confirm)
        await tg.wait_for_message(alice.id, "held. Starting")
        confirm = await image_confirmation(stack, alice, "Second picture")
        await tg.click(alice, "✅ Confirm — 8 💎", message=confirm)
        waiting = await tg.wait_for_message(alice.id, "Waiting in line")
        assert "(#2)" in waiting.text and "this one is next" in waiting.text
        assert await balance_of(stack, alice) == (84, 16)
        await tg.wait_for(lambda: len([m for m in tg.messages(alice.id) if m.media_type == "photo"]) == 2, timeout=40)
        results = [m for m in tg.messages(alice.id) if m.media_type == "photo"]
        assert [m.caption for m in results] == ["Nano Banana · #1", "Nano Banana · #2"]
        tasks = await stack.kie_tasks()
        assert [t["input"]["prompt"] for t in tasks] == ["First picture", "Second picture"]
        await tg.wait_for(lambda: len([m for m in tg.messages(alice.id) if "ready!" in m.content]) == 2, timeout=10)
        assert await balance_of(stack, alice) == (84, 0)


async def test_user_who_blocked_the_bot_does_not_stop_others(quick: Stack, alice: FakeUser, boris: FakeUser) -> None:
    stack, tg = quick, quick.tg
    confirm = await image_confirmation(stack, alice, "A quiet forest")
    await stack.kie_control("task-outcome", {"outcome": "slow", "generate_s": 2})
    await tg.click(alice, "✅ Confirm — 8 💎", message=confirm)
    await tg.wait_for_message(alice.id, "generating", timeout=15)
    tg.block(alice.id)

    def final_status_tried() -> bool:  # the user sees nothing any more; the bot's last try is the settled status
        return any(str(c.params.get("chat_id")) == str(alice.id) and "ready!" in str(c.params.get("text"))
                   for c in tg.calls("editMessageText"))

    await tg.wait_for(final_status_tried, timeout=20)
    assert any(str(c.params.get("chat_id")) == str(alice.id) and c.status == 403 for c in tg.calls("sendPhoto"))
    jobs = await jobs_of(stack, alice)
    assert [j.state for j in jobs] == ["done"]  # the result was made: kept and charged, nothing left held
    assert await balance_of(stack, alice) == (92, 0)

    await open_model(stack, boris, "google-nano-banana", "Nano Banana")
    await tg.send_text(boris, "Лес")
    await tg.wait_for_message(boris.id, "шаг 2")
    await tg.click(boris, "⏩ Остальное по умолчанию")
    await tg.wait_for_message(boris.id, "проверьте параметры")
    await tg.click(boris, "✅ Подтвердить — 8 💎")
    done = await tg.wait_for_message(boris.id, "готово", timeout=20)
    assert "8 💎" in done.text
    assert len([m for m in tg.messages(boris.id) if m.media_type == "photo"]) == 1


async def test_confirm_works_after_a_top_up(quick: Stack, alice: FakeUser) -> None:
    from tests.e2e.conftest import grant

    stack, tg = quick, quick.tg
    confirm = await video_confirmation(stack, alice)
    await tg.click(alice, "✅ Confirm — 110 💎", message=confirm)
    await tg.wait_for_message(alice.id, "Not enough balance")
    await grant(stack, alice, 50)
    await tg.click(alice, "✅ Confirm — 110 💎", message=confirm)  # the same screen, now affordable
    done = await tg.wait_for_message(alice.id, "ready!", timeout=20)
    assert "Charged 110 💎" in done.text
    assert len([m for m in tg.messages(alice.id) if m.media_type == "video"]) == 1
    assert len(await stack.kie_tasks()) == 1
    assert await balance_of(stack, alice) == (40, 0)
    assert await ledger_of(stack, alice) == [
        ("bonus", 100, 0), ("grant", 50, 0), ("hold", -110, 110), ("charge", 0, -110)]


async def video_confirmation(stack: Stack, user: FakeUser) -> FakeMessage:
    """Kling 2.6 text-to-video, 5 s without sound: 55 credits × 2 = 110 💎, more than the welcome bonus."""
    tg = stack.tg
    await open_model(stack, user, "kling-2_6-t2v", "Kling 2.6 Text-to-Video")
    await tg.send_text(user, "Waves on a beach")
    await tg.wait_for_message(user.id, "step 2")
    await tg.click(user, "No")
    await tg.wait_for_message(user.id, "step 3")
    await tg.click(user, "⏭ Keep the default")
    await tg.wait_for_message(user.id, "step 4")
    await tg.click(user, "⏭ Keep the default")
    return await tg.wait_for_message(user.id, "check the parameters")


async def test_a_model_kie_disabled_is_refunded_and_no_longer_offered(quick: Stack, alice: FakeUser) -> None:
    stack, tg = quick, quick.tg
    confirm = await image_confirmation(stack, alice, "A red kite")
    await stack.kie_control("fail", {"code": 505, "endpoint": "createTask"})
    await tg.click(alice, "✅ Confirm — 8 💎", message=confirm)
    failed = await tg.wait_for_message(alice.id, "back on your balance", timeout=20)
    assert "unavailable" in failed.text
    assert await balance_of(stack, alice) == (100, 0)
    await tg.wait_for_message(ADMIN.id, "больше не предлагается", since=0)
    await tg.send_command(alice, "/start", args="m_google-nano-banana")
    await tg.wait_for_message(alice.id, "not available any more")
