"""The bare aiogram echo bot the benches measure kiebot against: one handler, `message.answer(message.text)`.

`journeys.echo_bot` runs it inside the bench's process; `wizard_steps.py --process` runs this file as a child
process, polling the bench's fake Telegram: `BOT_TOKEN=... TELEGRAM_API_BASE=http://127.0.0.1:<port> python
bench/echo_bot.py` (SIGTERM or SIGINT stops it). It imports aiogram alone, so its heap stays that of a bare bot.
"""
from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


def echo_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    return dp


def make_bot(token: str, api_base: str) -> Bot:
    return Bot(token=token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))


async def main() -> None:
    bot = make_bot(os.environ["BOT_TOKEN"], os.environ["TELEGRAM_API_BASE"])
    await echo_dispatcher().start_polling(bot, handle_signals=True, close_bot_session=True)


if __name__ == "__main__":
    asyncio.run(main())
