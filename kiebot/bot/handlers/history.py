"""/history: recent generations, each can be repeated, or edited and repeated."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from kiebot.bot import ui
from kiebot.bot.callbacks import HistoryAction, HistoryCB, HistoryPageCB, MenuAction, MenuCB
from kiebot.bot.drafts import Forms
from kiebot.bot.i18n import Translate
from kiebot.bot.screens import history as screens
from kiebot.catalog import Catalog
from kiebot.services.account import Profile
from kiebot.services.history import HistoryService


def router() -> Router:
    r = Router(name="history")
    r.message.register(on_history, Command("history"))
    r.callback_query.register(page, MenuCB.filter(F.action == MenuAction.HISTORY))
    r.callback_query.register(page, HistoryPageCB.filter())
    r.callback_query.register(repeat, HistoryCB.filter(F.action == HistoryAction.REPEAT))
    r.callback_query.register(repeat, HistoryCB.filter(F.action == HistoryAction.EDIT))
    return r


async def on_history(message: Message, history: HistoryService, catalog: Catalog, user: Profile,
                     tr: Translate, lang: str) -> None:
    shown = await history.page(user.id, 0, catalog)
    await ui.show(message, screens.history(tr, lang, catalog, shown), edit=False)


async def page(query: CallbackQuery, callback_data: MenuCB | HistoryPageCB, history: HistoryService,
               catalog: Catalog, user: Profile, tr: Translate, lang: str) -> None:
    number = callback_data.page if isinstance(callback_data, HistoryPageCB) else 0
    shown = await history.page(user.id, number, catalog)
    await query.answer()
    await ui.show(query, screens.history(tr, lang, catalog, shown), edit=True)


async def repeat(query: CallbackQuery, callback_data: HistoryCB, forms: Forms, history: HistoryService,
                 catalog: Catalog, user: Profile, tr: Translate) -> None:
    """🔁 Repeat opens the confirmation with the job's values; ✏️ Edit asks its first field again."""
    edit = callback_data.action == HistoryAction.EDIT
    found = await history.reopen(user.id, callback_data.job_id, catalog, edit=edit)
    if found is None:
        await query.answer(tr("model-gone"), show_alert=True)
        return
    model, draft = found
    await forms.open(draft, model).begin(query)
