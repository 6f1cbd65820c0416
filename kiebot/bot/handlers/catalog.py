"""Main menu → category → task → model list → model card → wizard."""
from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from kiebot.bot.callbacks import CategoryCB, MenuCB, ModelCB
from kiebot.bot.handlers.wizard import start_wizard
from kiebot.bot.i18n import Translate
from kiebot.bot.render import Screen, button, model_card, page_count, pager, rows
from kiebot.bot.screens import show
from kiebot.catalog import Catalog, pricing
from kiebot.config import Settings
from kiebot.store.models import User

MODELS_PER_PAGE = 8


def router() -> Router:
    r = Router(name="catalog")
    r.message.register(on_models_command, Command("models"))
    r.callback_query.register(on_categories, MenuCB.filter(F.action == "cats"))
    r.callback_query.register(on_category, CategoryCB.filter())
    r.callback_query.register(on_model, ModelCB.filter())
    return r


def categories_screen(tr: Translate, lang: str, catalog: Catalog) -> Screen:
    buttons = [button(f"{catalog.category_label(c, lang)} ({len(catalog.models_in(c))})", CategoryCB(category=c))
               for c in catalog.categories()]
    kb = rows(buttons, 1) + [[button(tr("btn-home"), MenuCB(action="home"))]]
    return Screen(tr("choose-category"), InlineKeyboardMarkup(inline_keyboard=kb))


def tasks_screen(tr: Translate, lang: str, catalog: Catalog, category: str) -> Screen:
    buttons = [button(f"{catalog.task_label(t, lang)} ({len(catalog.models_in(category, t))})",
                      CategoryCB(category=category, task=t)) for t in catalog.tasks(category)]
    kb = rows(buttons, 2) + [[button(tr("btn-back"), MenuCB(action="cats"))]]
    title = tr("choose-task", category=html.escape(catalog.category_label(category, lang)))
    return Screen(title, InlineKeyboardMarkup(inline_keyboard=kb))


def models_screen(tr: Translate, lang: str, catalog: Catalog, settings: Settings, cb: CategoryCB) -> Screen:
    models = catalog.models_in(cb.category, cb.task or None)
    pages = page_count(len(models), MODELS_PER_PAGE)
    page = min(max(cb.page, 0), pages - 1)
    kb = []
    for model in models[page * MODELS_PER_PAGE : (page + 1) * MODELS_PER_PAGE]:
        low, _ = pricing.price_range(model, settings.price_markup)
        kb.append([button(tr("model-button", name=model.name(lang), price=low), ModelCB(slug=model.slug))])
    if pages > 1:
        kb.append(pager(page, pages, lambda p: CategoryCB(category=cb.category, task=cb.task, page=p)))
    single_task = len(catalog.tasks(cb.category)) <= 1
    back = MenuCB(action="cats") if single_task else CategoryCB(category=cb.category)
    kb.append([button(tr("btn-back"), back)])
    title = tr("choose-model", task=html.escape(catalog.task_label(cb.task, lang) if cb.task else catalog.category_label(cb.category, lang)))
    return Screen(title, InlineKeyboardMarkup(inline_keyboard=kb))


async def on_models_command(message: Message, command: CommandObject, catalog: Catalog, settings: Settings,
                            tr: Translate, lang: str) -> None:
    """`/models` opens the catalogue; `/models <slug>` opens one model's card."""
    slug = (command.args or "").strip()
    if slug and await open_model_by_slug(message, slug, catalog, settings, tr, lang):
        return
    await show(message, categories_screen(tr, lang, catalog), edit=False)


async def on_categories(query: CallbackQuery, catalog: Catalog, tr: Translate, lang: str) -> None:
    await query.answer()
    await show(query, categories_screen(tr, lang, catalog), edit=True)


async def on_category(query: CallbackQuery, callback_data: CategoryCB, catalog: Catalog, settings: Settings,
                      tr: Translate, lang: str) -> None:
    await query.answer()
    if not callback_data.task and len(catalog.tasks(callback_data.category)) > 1:
        await show(query, tasks_screen(tr, lang, catalog, callback_data.category), edit=True)
    else:
        await show(query, models_screen(tr, lang, catalog, settings, callback_data), edit=True)


async def on_model(query: CallbackQuery, callback_data: ModelCB, state: FSMContext, catalog: Catalog,
                   settings: Settings, user: User, tr: Translate, lang: str) -> None:
    model = catalog.by_slug(callback_data.slug)
    if model is None:
        await query.answer(tr("model-gone"), show_alert=True)
        return
    await query.answer()
    if callback_data.action == "start":
        await start_wizard(query, state, model, tr=tr, lang=lang, user=user, settings=settings)
    else:
        await show(query, model_card(tr, lang, catalog, model, settings.price_markup), edit=True)


async def open_model_by_slug(message: Message, slug: str, catalog: Catalog, settings: Settings, tr: Translate,
                             lang: str) -> bool:
    """Deep link `/start m_<slug>`: show the model card."""
    model = catalog.by_slug(slug)
    if model is None:
        return False
    await show(message, model_card(tr, lang, catalog, model, settings.price_markup), edit=False)
    return True
