"""The error router: nothing a user does crashes the bot, and they always get an answer."""
from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from kiebot.bot.i18n import Translator

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="errors")
    r.errors.register(on_error)
    return r


async def on_error(event: ErrorEvent, translator: Translator) -> bool:
    log.exception("update %s failed", event.update.update_id, exc_info=event.exception)
    user = None
    if event.update.message:
        user = event.update.message.from_user
    elif event.update.callback_query:
        user = event.update.callback_query.from_user
    if user is None:
        return True
    tr = translator.bind(translator.resolve_language(None, user.language_code))
    try:
        if event.update.callback_query:
            await event.update.callback_query.answer(tr("error-generic"), show_alert=True)
        elif event.update.message:
            await event.update.message.answer(tr("error-generic"))
    except Exception:  # the apology itself failed (e.g. the user blocked the bot): nothing more to do
        log.warning("could not tell user %s about the error", user.id)
    return True
