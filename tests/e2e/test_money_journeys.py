"""Money journeys: holds, charges and refunds as the user sees them and as the ledger records them."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.e2e.conftest import ADMIN, Stack, balance_of, ledger_of, relaxed_flood, running_stack
from tests.e2e.journey import Journey, grant
from tests.fakes import FakeMessage, FakeUser

READY = "ready!"


async def image_confirmation(j: Journey, prompt: str) -> FakeMessage:
    """Nano Banana with defaults, up to the confirmation screen (8 💎)."""
    confirm = await j.fill("google-nano-banana", prompt, "⏩ Defaults for all the rest")
    assert "Price: 8 💎" in confirm.text
    return confirm


async def video_confirmation(j: Journey) -> FakeMessage:
    """Kling 2.6 text-to-video, 5 s without sound: 55 credits × 2 = 110 💎, more than the welcome bonus."""
    return await j.fill("kling-2_6-t2v", "Waves on a beach", "No", "⏭ Keep the default", "⏭ Keep the default")


async def jobs_of(stack: Stack, user: FakeUser) -> list[Any]:
    from kiebot.store.models import Job

    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        return list((await session.execute(select(Job).where(Job.user_id == user.id).order_by(Job.id))).scalars())


def ready_messages(j: Journey) -> list[FakeMessage]:
    return [m for m in j.tg.messages(j.user.id) if READY in m.content]


async def test_double_confirm_starts_one_generation(quick: Stack, alice: FakeUser) -> None:
    stack, tg, j = quick, quick.tg, Journey(quick, alice)
    await image_confirmation(j, "A castle in the clouds")
    first = await j.press_confirm(8)
    second = await j.press_confirm(8)  # the same button of the same screen, again
    done = await j.result()
    assert "Charged 8 💎" in done.text
    await tg.wait_for(lambda: first in tg.callback_answers and second in tg.callback_answers)
    answers = sorted(str(tg.callback_answers[q].get("text")) for q in (first, second))
    late = {"This generation has already started.", "This button is from an older screen. Use the latest message."}
    assert answers[0] == "Started!" and answers[1] in late
    assert len(await stack.kie_tasks()) == 1
    assert len(j.delivered("photo")) == 1
    assert len(ready_messages(j)) == 1
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]
    assert await balance_of(stack, alice) == (92, 0)


async def test_not_enough_balance_starts_nothing(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    confirm = await video_confirmation(j)
    assert "Price: 110 💎" in confirm.text  # 55 credits × 2
    assert "100 💎 → after: -10 💎" in confirm.text
    assert "You are 10 💎 short" in confirm.text
    await j.press_confirm(110)
    refusal = await j.reply("Not enough balance")
    assert "you are 10 💎 short (balance: 100 💎)" in refusal.text
    assert await stack.kie_tasks() == []
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0)]
    assert await jobs_of(stack, alice) == []


async def test_failed_generation_is_refunded(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await image_confirmation(j, "Something the model refuses")
    await stack.kie_control("task-outcome", {"outcome": "fail", "fail_msg": "content policy violation"})
    await j.confirm(8)
    failed = await j.failure()
    assert "the model refused the request under its content rules." in failed.text
    assert "The held 8 💎 are back on your balance." in failed.text
    assert "content policy violation" not in failed.text  # KIE's own words are never shown as they are
    assert not j.delivered("photo")
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("release", 8, -8)]
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1 and tasks[0]["state"] == "fail"


async def test_create_task_402_refunds_and_alerts_the_operator(quick: Stack, alice: FakeUser) -> None:
    stack, j, operator = quick, Journey(quick, alice), Journey(quick, ADMIN)
    await operator.home()
    await image_confirmation(j, "A bridge over a river")
    await stack.kie_control("fail", {"code": 402, "endpoint": "createTask"})
    await j.confirm(8)
    failed = await j.failure()
    assert "The held 8 💎 are back on your balance." in failed.text
    alert = await operator.reply("⚠️")
    # In the admin's /language choice, else DEFAULT_LANGUAGE (ru).
    assert alert.text == "⚠️ На счёте KIE закончились кредиты: новые генерации приостановлены. Пополните счёт KIE."
    assert await stack.kie_tasks() == []
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("release", 8, -8)]


async def test_create_task_429_is_retried(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await image_confirmation(j, "A bridge over a river")
    await stack.kie_control("fail", {"code": 429, "endpoint": "createTask", "times": 1})
    await j.generate(8)
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1 and tasks[0]["input"]["prompt"] == "A bridge over a river"
    assert len(j.delivered("photo")) == 1
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("hold", -8, 8), ("charge", 0, -8)]


async def test_second_generation_waits_in_line(tmp_path: Path, alice: FakeUser) -> None:
    async with running_stack(tmp_path, flood=relaxed_flood(), max_active_per_user=1) as stack:
        # Long enough for the second form to be filled while the first one runs.
        await stack.kie_control("task-outcome", {"outcome": "slow", "generate_s": 12})
        first, second = Journey(stack, alice), Journey(stack, alice)
        await image_confirmation(first, "First picture")
        starting = await first.confirm(8)
        assert "held. Starting" in starting.text
        # The first job's status keeps changing meanwhile; the second form waits for its own screens only.
        await image_confirmation(second, "Second picture")
        waiting = await second.confirm(8)
        assert "Waiting in line" in waiting.text
        assert "(#2)" in waiting.text and "this one is next" in waiting.text
        assert await balance_of(stack, alice) == (84, 16)
        await first.result(timeout=40)
        await second.result(timeout=40)
        assert [m.caption for m in first.delivered("photo")] == ["Nano Banana · #1", "Nano Banana · #2"]
        tasks = await stack.kie_tasks()
        assert [t["input"]["prompt"] for t in tasks] == ["First picture", "Second picture"]
        assert len(ready_messages(first)) == 2
        assert await balance_of(stack, alice) == (84, 0)


async def test_user_who_blocked_the_bot_does_not_stop_others(quick: Stack, alice: FakeUser, boris: FakeUser) -> None:
    stack, tg, j = quick, quick.tg, Journey(quick, alice)
    await image_confirmation(j, "A quiet forest")
    await stack.kie_control("task-outcome", {"outcome": "slow", "generate_s": 2})
    await j.confirm(8)
    await j.status("generating", timeout=15)
    tg.block(alice.id)

    def final_status_tried() -> bool:  # the user sees nothing any more; the bot's last try is the settled status
        return any(str(c.params.get("chat_id")) == str(alice.id) and "❌" in str(c.params.get("text"))
                   for c in tg.calls("editMessageText"))

    await tg.wait_for(final_status_tried, timeout=20)
    assert any(str(c.params.get("chat_id")) == str(alice.id) and c.status == 403 for c in tg.calls("sendPhoto"))
    jobs = await jobs_of(stack, alice)
    # Nothing reached the user: no charge without a delivered result; the hold is back on the balance.
    assert [(job.state, job.error_code) for job in jobs] == [("failed", "undelivered")]
    assert await balance_of(stack, alice) == (100, 0)

    b = Journey(stack, boris)
    await b.fill("google-nano-banana", "Лес", "⏩ Остальное по умолчанию")
    done = await b.generate(8)
    assert "готово! Списано 8 💎." in done.text
    assert len(b.delivered("photo")) == 1


async def test_confirm_works_after_a_top_up(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await video_confirmation(j)
    await j.press_confirm(110)
    await j.reply("Not enough balance")
    await grant(stack, alice, 50)
    await j.generate(110)  # the same screen, now affordable
    assert len(j.delivered("video")) == 1
    assert len(await stack.kie_tasks()) == 1
    assert await balance_of(stack, alice) == (40, 0)
    assert await ledger_of(stack, alice) == [
        ("bonus", 100, 0), ("grant", 50, 0), ("hold", -110, 110), ("charge", 0, -110)]


async def test_a_model_kie_disabled_is_refunded_and_no_longer_offered(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await image_confirmation(j, "A red kite")
    await stack.kie_control("fail", {"code": 505, "endpoint": "createTask"})
    await j.confirm(8)
    failed = await j.failure()
    assert "back on your balance" in failed.text and j.texts("fail-unavailable") in failed.text
    assert await balance_of(stack, alice) == (100, 0)
    alert = await Journey(stack, ADMIN).reply("⚠️")
    assert "больше не предлагается" in alert.text
    await j.command("/start", "m_google-nano-banana")
    await j.reply("This model is not available any more.")
