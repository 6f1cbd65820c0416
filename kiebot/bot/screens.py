"""Showing wizard screens: shared by the catalogue, wizard and history handlers."""
from __future__ import annotations

from decimal import Decimal

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from kiebot.bot.i18n import Translate
from kiebot.bot.render import Screen, confirm_screen, step_screen
from kiebot.catalog import ModelSpec
from kiebot.services.generation import price_of
from kiebot.services.wizard import Draft
from kiebot.store.models import User


class Wizard(StatesGroup):
    form = State()


async def load_draft(state: FSMContext) -> Draft | None:
    data = await state.get_data()
    raw = data.get("draft")
    return Draft.from_dict(raw) if raw else None


async def save_draft(state: FSMContext, draft: Draft) -> None:
    await state.set_state(Wizard.form)
    await state.update_data(draft=draft.to_dict())


def screen_for(tr: Translate, lang: str, model: ModelSpec, draft: Draft, user: User, markup: Decimal, page: int = 0) -> Screen:
    if draft.at_confirmation:
        return confirm_screen(tr, lang, model, draft, price_of(model, draft, markup), user.balance, page)
    return step_screen(tr, lang, model, draft, page)


async def show(target: Message | CallbackQuery, screen: Screen, *, edit: bool) -> None:
    """Edit the pressed message in place, or send a new one after a typed answer."""
    message = target.message if isinstance(target, CallbackQuery) else target
    if not isinstance(message, Message):
        return
    if edit and isinstance(target, CallbackQuery):
        await edit_text(message, screen)
    else:
        await message.answer(screen.text, reply_markup=screen.markup)


async def edit_text(message: Message, screen: Screen) -> None:
    try:
        await message.edit_text(screen.text, reply_markup=screen.markup)
    except TelegramBadRequest as exc:
        # An identical edit is refused with "message is not modified": the screen is already right.
        if "message is not modified" not in exc.message:
            raise
