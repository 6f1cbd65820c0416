"""/start, the main menu, /help, /balance, /language, /cancel."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.bot.callbacks import LanguageCB, MenuCB
from kiebot.bot.handlers.catalog import open_model_by_slug
from kiebot.bot.i18n import Translate, Translator
from kiebot.bot.render import Screen, button
from kiebot.bot.screens import show
from kiebot.catalog import Catalog
from kiebot.config import Settings
from kiebot.store.models import User
from kiebot.store.users import set_language

DEEP_LINK_PREFIX = "m_"


def router() -> Router:
    r = Router(name="menu")
    r.message.register(on_start, CommandStart())
    r.message.register(on_help, Command("help"))
    r.message.register(on_balance, Command("balance"))
    r.message.register(on_language, Command("language"))
    r.message.register(on_cancel, Command("cancel"))
    r.callback_query.register(on_menu, MenuCB.filter(F.action.in_({"home", "balance", "help", "language"})))
    r.callback_query.register(on_language_chosen, LanguageCB.filter())
    return r


def home_screen(tr: Translate, user: User) -> Screen:
    kb = [
        [button(tr("btn-generate"), MenuCB(action="cats"))],
        [button(tr("btn-balance"), MenuCB(action="balance")), button(tr("btn-history"), MenuCB(action="history"))],
        [button(tr("btn-language"), MenuCB(action="language")), button(tr("btn-help"), MenuCB(action="help"))],
    ]
    return Screen(tr("home", balance=user.balance), InlineKeyboardMarkup(inline_keyboard=kb))


def balance_text(tr: Translate, user: User) -> str:
    text = tr("balance", balance=user.balance)
    return text + ("\n" + tr("balance-held", held=user.held) if user.held else "")


def language_screen(tr: Translate) -> Screen:
    kb = [[button("Русский", LanguageCB(code="ru")), button("English", LanguageCB(code="en"))]]
    return Screen(tr("choose-language"), InlineKeyboardMarkup(inline_keyboard=kb))


async def on_start(message: Message, command: CommandObject, state: FSMContext, catalog: Catalog,
                   settings: Settings, user: User, user_created: bool, tr: Translate, lang: str) -> None:
    await state.clear()
    if user_created and settings.welcome_bonus:
        await message.answer(tr("welcome-bonus", bonus=settings.welcome_bonus))
    payload = (command.args or "").strip()
    if payload.startswith(DEEP_LINK_PREFIX):
        if await open_model_by_slug(message, payload[len(DEEP_LINK_PREFIX):], catalog, settings, tr, lang):
            return
        await message.answer(tr("model-gone"))
    await show(message, home_screen(tr, user), edit=False)


async def on_help(message: Message, tr: Translate) -> None:
    await message.answer(tr("help"))


async def on_balance(message: Message, user: User, tr: Translate) -> None:
    await message.answer(balance_text(tr, user))


async def on_language(message: Message, tr: Translate) -> None:
    await show(message, language_screen(tr), edit=False)


async def on_cancel(message: Message, state: FSMContext, user: User, tr: Translate) -> None:
    had_form = await state.get_state() is not None
    await state.clear()
    await message.answer(tr("wizard-cancelled") if had_form else tr("nothing-to-cancel"))
    await show(message, home_screen(tr, user), edit=False)


async def on_menu(query: CallbackQuery, callback_data: MenuCB, user: User, tr: Translate) -> None:
    await query.answer()
    action = callback_data.action
    if action == "home":
        await show(query, home_screen(tr, user), edit=True)
    elif action == "balance":
        back = InlineKeyboardMarkup(inline_keyboard=[[button(tr("btn-home"), MenuCB(action="home"))]])
        await show(query, Screen(balance_text(tr, user), back), edit=True)
    elif action == "help":
        back = InlineKeyboardMarkup(inline_keyboard=[[button(tr("btn-home"), MenuCB(action="home"))]])
        await show(query, Screen(tr("help"), back), edit=True)
    else:
        await show(query, language_screen(tr), edit=True)


async def on_language_chosen(query: CallbackQuery, callback_data: LanguageCB, session: AsyncSession, user: User,
                             translator: Translator) -> None:
    code = callback_data.code if callback_data.code in ("ru", "en") else translator.default_language
    await set_language(session, user.id, code)
    user.language = code
    tr = translator.bind(code)
    await query.answer(tr("language-set"))
    await show(query, home_screen(tr, user), edit=True)
