"""Flood control: the user's own answers go ahead of the engine's messages; overtaken status edits are dropped."""
from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage

from kiebot.bot.flood import FloodControl, in_background
from kiebot.bot.pace import MemoryPaces, Pace

TOKEN = "123456789:TEST_token_for_the_flood_control_000"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, bot: Bot, method: Any) -> Any:
        self.sent.append(getattr(method, "text", None) or type(method).__name__)
        return True


def test_pace_allows_a_burst_then_spaces_messages() -> None:
    now = [100.0]
    pace = Pace(rate=1.0, burst=3, clock=lambda: now[0])
    assert [pace.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pace.wait_time() == 1.0
    assert pace.reserve() == 1.0


async def test_answers_to_the_user_overtake_waiting_engine_messages() -> None:
    flood, sent = FloodControl(global_rate=1000, chat_rate=20, chat_burst=1), Recorder()
    bot = Bot(TOKEN)

    async def engine(text: str) -> None:
        with in_background():
            await flood(sent, bot, SendMessage(chat_id=1, text=text))

    await flood(sent, bot, SendMessage(chat_id=1, text="first"))  # takes the chat's only free turn
    delivery = asyncio.create_task(engine("result"))
    await asyncio.sleep(0)  # the delivery is waiting for a turn
    await flood(sent, bot, SendMessage(chat_id=1, text="answer"))
    await delivery
    assert sent.sent == ["first", "answer", "result"]


async def test_an_overtaken_status_edit_is_never_sent() -> None:
    flood, sent = FloodControl(global_rate=1000, chat_rate=20, chat_burst=1), Recorder()
    bot = Bot(TOKEN)

    async def edit(text: str) -> Any:
        with in_background():
            return await flood(sent, bot, EditMessageText(chat_id=1, message_id=7, text=text))

    await flood(sent, bot, SendMessage(chat_id=1, text="status"))
    older = asyncio.create_task(edit("30%"))
    await asyncio.sleep(0)
    newer = asyncio.create_task(edit("60%"))
    assert await older is True and await newer is True
    assert sent.sent == ["status", "60%"]


async def test_callback_answers_never_wait() -> None:
    flood, sent = FloodControl(global_rate=1000, chat_rate=1, chat_burst=1), Recorder()
    bot = Bot(TOKEN)
    await flood(sent, bot, SendMessage(chat_id=1, text="fills the chat's turn"))
    await asyncio.wait_for(flood(sent, bot, AnswerCallbackQuery(callback_query_id="q")), timeout=0.5)
    assert sent.sent[-1] == "AnswerCallbackQuery"


async def test_a_message_counts_in_its_chat_from_its_answer() -> None:
    now = [100.0]
    paces = MemoryPaces(global_rate=1000, chat_rate=1, chat_burst=3, clock=lambda: now[0])
    assert await paces.reserve(1) == 0.0
    now[0] = 100.5
    await paces.answered(1)  # a slow first message: Telegram may have counted it as late as now
    assert [await paces.reserve(1), await paces.reserve(1)] == [0.0, 0.0]  # the rest of the burst
    # Telegram's own bucket frees its next place a second after the first message arrived: 101.5, not 101.
    assert await paces.reserve(1) == 1.0
    assert await paces.reserve(2) == 0.0  # another chat is untouched


async def test_one_message_per_chat_is_under_way_at_a_time() -> None:
    flood = FloodControl(global_rate=1000, chat_rate=1000, chat_burst=10)
    bot = Bot(TOKEN)
    under_way: dict[int, int] = {1: 0, 2: 0}
    most: dict[int, int] = {1: 0, 2: 0}
    both = [0]

    async def telegram(_: Bot, method: Any) -> Any:
        under_way[method.chat_id] += 1
        most[method.chat_id] = max(most[method.chat_id], under_way[method.chat_id])
        both[0] = max(both[0], sum(under_way.values()))
        await asyncio.sleep(0.01)
        under_way[method.chat_id] -= 1
        return True

    async def send(chat: int, background: bool) -> None:
        if background:
            with in_background():
                await flood(telegram, bot, SendMessage(chat_id=chat, text="status"))
        else:
            await flood(telegram, bot, SendMessage(chat_id=chat, text="answer"))

    await asyncio.gather(*(send(chat, n % 2 == 0) for n in range(6) for chat in (1, 2)))
    assert most == {1: 1, 2: 1} and both[0] == 2  # chats do not wait for each other
