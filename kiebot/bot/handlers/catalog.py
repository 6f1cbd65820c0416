"""The catalogue: categories → tasks → a task's models → a model's card → the first step of its form."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from kiebot.bot import ui
from kiebot.bot.callbacks import CategoryCB, MenuAction, MenuCB, ModelAction, ModelCB
from kiebot.bot.drafts import Forms
from kiebot.bot.i18n import Translate
from kiebot.bot.screens import catalog as screens
from kiebot.catalog import Catalog
from kiebot.config import Settings
from kiebot.services.account import Profile
from kiebot.services.money import MoneyService
from kiebot.services.offering import Offering
from kiebot.services.wizard import Draft


def router() -> Router:
    r = Router(name="catalog")
    r.message.register(on_models, Command("models"))
    r.callback_query.register(categories, MenuCB.filter(F.action == MenuAction.CATEGORIES))
    r.callback_query.register(tasks, CategoryCB.filter(F.task == ""), _has_several_tasks)
    r.callback_query.register(models, CategoryCB.filter())
    r.callback_query.register(card, ModelCB.filter(F.action == ModelAction.CARD))
    r.callback_query.register(start, ModelCB.filter(F.action == ModelAction.START))
    return r


async def _has_several_tasks(query: CallbackQuery, callback_data: CategoryCB, catalog: Catalog) -> bool:
    return len(catalog.tasks(callback_data.category)) > 1


async def on_models(message: Message, command: CommandObject, catalog: Catalog, settings: Settings,
                    tr: Translate, lang: str) -> None:
    """`/models` opens the catalogue; `/models <slug>` opens one model's card."""
    model = catalog.by_slug((command.args or "").strip())
    if model is not None:
        await ui.show(message, screens.model_card(tr, lang, catalog, model, settings.price_markup), edit=False)
    else:
        await ui.show(message, screens.categories(tr, lang, catalog), edit=False)


async def categories(query: CallbackQuery, catalog: Catalog, tr: Translate, lang: str) -> None:
    await query.answer()
    await ui.show(query, screens.categories(tr, lang, catalog), edit=True)


async def tasks(query: CallbackQuery, callback_data: CategoryCB, catalog: Catalog, tr: Translate, lang: str) -> None:
    await query.answer()
    await ui.show(query, screens.tasks(tr, lang, catalog, callback_data.category), edit=True)


async def models(query: CallbackQuery, callback_data: CategoryCB, catalog: Catalog, offering: Offering,
                 money: MoneyService, settings: Settings, user: Profile, tr: Translate, lang: str) -> None:
    listed = await offering.models_in(catalog, callback_data.category, callback_data.task or None)
    free = await money.free_today(user.id, [m.id for m in listed])
    await query.answer()
    screen = screens.models(tr, lang, catalog, listed, callback_data, settings.price_markup, free)
    await ui.show(query, screen, edit=True)


async def card(query: CallbackQuery, callback_data: ModelCB, catalog: Catalog, settings: Settings, tr: Translate,
               lang: str) -> None:
    model = catalog.by_slug(callback_data.slug)
    if model is None:
        await query.answer(tr("model-gone"), show_alert=True)
        return
    await query.answer()
    screen = screens.model_card(tr, lang, catalog, model, settings.price_markup, callback_data.page)
    await ui.show(query, screen, edit=True)


async def start(query: CallbackQuery, callback_data: ModelCB, forms: Forms, catalog: Catalog, tr: Translate) -> None:
    model = catalog.by_slug(callback_data.slug)
    if model is None:
        await query.answer(tr("model-gone"), show_alert=True)
        return
    form = forms.open(Draft.start(model), model)
    await form.begin(query, list_page=callback_data.page)
