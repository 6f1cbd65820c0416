"""/start, the main menu, /help, /balance, /language, /cancel."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from kiebot.bot import ui
from kiebot.bot.callbacks import LanguageCB, MenuAction, MenuCB
from kiebot.bot.i18n import LANGUAGES, Translate, Translator
from kiebot.bot.screens import catalog as catalog_screens
from kiebot.bot.screens import menu as screens
from kiebot.catalog import Catalog
from kiebot.config import Settings
from kiebot.services.account import AccountService, Profile

MODEL_LINK = "m_"  # deep link `/start m_<slug>` opens a model's card


def router() -> Router:
    r = Router(name="menu")
    r.message.register(on_start, CommandStart())
    r.message.register(on_help, Command("help"))
    r.message.register(on_language, Command("language"))
    r.message.register(on_cancel, Command("cancel"))
    r.callback_query.register(home, MenuCB.filter(F.action == MenuAction.HOME))
    r.callback_query.register(help_, MenuCB.filter(F.action == MenuAction.HELP))
    r.callback_query.register(language, MenuCB.filter(F.action == MenuAction.LANGUAGE))
    r.callback_query.register(language_chosen, LanguageCB.filter(F.code.in_(LANGUAGES)))
    return r


async def on_start(message: Message, command: CommandObject, state: FSMContext, catalog: Catalog,
                   settings: Settings, accounts: AccountService, user: Profile, tr: Translate, lang: str) -> None:
    await state.clear()
    if user.created and settings.welcome_bonus:
        await message.answer(tr("welcome-bonus", bonus=settings.welcome_bonus))
    payload = (command.args or "").strip()
    if payload.startswith(MODEL_LINK):
        model = catalog.by_slug(payload.removeprefix(MODEL_LINK))
        if model is not None:
            await ui.show(message, catalog_screens.model_card(tr, lang, catalog, model, settings.price_markup), edit=False)
            return
        await message.answer(tr("model-gone"))
    await ui.show(message, screens.home(tr, await accounts.get(user.id)), edit=False)


async def on_help(message: Message, tr: Translate) -> None:
    await ui.show(message, screens.help_screen(tr, with_home=False), edit=False)


async def on_language(message: Message, tr: Translate) -> None:
    await ui.show(message, screens.language(tr), edit=False)


async def on_cancel(message: Message, state: FSMContext, accounts: AccountService, user: Profile,
                    tr: Translate) -> None:
    had_form = await state.get_state() is not None
    await state.clear()
    await message.answer(tr("wizard-cancelled") if had_form else tr("nothing-to-cancel"))
    await ui.show(message, screens.home(tr, await accounts.get(user.id)), edit=False)


async def home(query: CallbackQuery, accounts: AccountService, user: Profile, tr: Translate) -> None:
    account = await accounts.get(user.id)
    await query.answer()
    await ui.show(query, screens.home(tr, account), edit=True)


async def help_(query: CallbackQuery, tr: Translate) -> None:
    await query.answer()
    await ui.show(query, screens.help_screen(tr, with_home=True), edit=True)


async def language(query: CallbackQuery, tr: Translate) -> None:
    await query.answer()
    await ui.show(query, screens.language(tr), edit=True)


async def language_chosen(query: CallbackQuery, callback_data: LanguageCB, accounts: AccountService,
                          user: Profile, translator: Translator) -> None:
    await accounts.set_language(user.id, callback_data.code)
    account = await accounts.get(user.id)
    tr = translator.bind(callback_data.code)
    await query.answer(tr("language-set"))
    await ui.show(query, screens.home(tr, account), edit=True)
