"""Anything no other handler took: a hint instead of silence."""
from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from kiebot.bot.i18n import Translate


def router() -> Router:
    r = Router(name="fallback")
    r.message.register(on_message)
    r.callback_query.register(on_callback)
    return r


async def on_message(message: Message, tr: Translate) -> None:
    await message.answer(tr("fallback"))


async def on_callback(query: CallbackQuery, tr: Translate) -> None:
    await query.answer(tr("stale-button"))
