"""Anything no other handler took: a hint instead of silence."""
from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from kiebot.bot.drafts import ModelGone
from kiebot.bot.i18n import Translate


def router() -> Router:
    r = Router(name="fallback")
    r.message.register(on_model_gone, ModelGone())
    r.callback_query.register(on_model_gone, ModelGone())
    r.message.register(on_message)
    r.callback_query.register(on_callback)
    return r


async def on_model_gone(event: Message | CallbackQuery, state: FSMContext, tr: Translate) -> None:
    """An answer or a button of a form whose model went away since it was started: the form is closed."""
    await state.clear()
    if isinstance(event, CallbackQuery):
        await event.answer(tr("model-gone"), show_alert=True)
    else:
        await event.answer(tr("model-gone"))


async def on_message(message: Message, tr: Translate) -> None:
    await message.answer(tr("fallback"))


async def on_callback(query: CallbackQuery, tr: Translate) -> None:
    await query.answer(tr("stale-button"))
