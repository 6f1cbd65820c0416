"""Categories → tasks → a task's models → a model's card."""
from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from decimal import Decimal

from kiebot.bot.callbacks import CategoryCB, MenuAction, MenuCB, ModelAction, ModelCB
from kiebot.bot.i18n import Translate
from kiebot.bot.screens.common import Pager, Screen, button, rows
from kiebot.bot.screens.menu import home_button
from kiebot.catalog import Catalog, ModelSpec, pricing

MODELS = Pager(per_page=8)


def categories(tr: Translate, lang: str, catalog: Catalog) -> Screen:
    buttons = [button(f"{catalog.category_label(c, lang)} ({len(catalog.models_in(c))})", CategoryCB(category=c))
               for c in catalog.categories()]
    return Screen.of(tr("choose-category"), rows(buttons, 1) + home_button(tr))


def tasks(tr: Translate, lang: str, catalog: Catalog, category: str) -> Screen:
    buttons = [button(f"{catalog.task_label(t, lang)} ({len(catalog.models_in(category, t))})",
                      CategoryCB(category=category, task=t)) for t in catalog.tasks(category)]
    back = [button(tr("btn-back"), MenuCB(action=MenuAction.CATEGORIES))]
    title = tr("choose-task", category=html.escape(catalog.category_label(category, lang)))
    return Screen.of(title, rows(buttons, 2) + [back])


def models(tr: Translate, lang: str, catalog: Catalog, listed: Sequence[ModelSpec], where: CategoryCB,
           markup: Decimal, free: Collection[str] = ()) -> Screen:
    """One page of a task's models (`listed`, in the order to show), each with its lowest price, or marked free
    (`free`: the ids of the models the user can run free today)."""
    page = MODELS.clamp(where.page, len(listed))
    kb = []
    for model in MODELS.slice(listed, page):
        low, _ = pricing.price_range(model, markup)
        label = (tr("model-button-free", name=model.name(lang)) if model.id in free
                 else tr("model-button", name=model.name(lang), price=low))
        kb.append([button(label, ModelCB(slug=model.slug, page=page))])
    pager = MODELS.row(page, len(listed), lambda p: CategoryCB(category=where.category, task=where.task, page=p))
    if pager:
        kb.append(pager)
    single_task = len(catalog.tasks(where.category)) <= 1
    back = MenuCB(action=MenuAction.CATEGORIES) if single_task else CategoryCB(category=where.category)
    kb.append([button(tr("btn-back"), back)])
    label = catalog.task_label(where.task, lang) if where.task else catalog.category_label(where.category, lang)
    return Screen.of(tr("choose-model", task=html.escape(label)), kb)


def model_card(tr: Translate, lang: str, catalog: Catalog, model: ModelSpec, markup: Decimal, page: int = 0) -> Screen:
    """`page`: the page of the model list the card was opened from; Back returns there."""
    low, high = pricing.price_range(model, markup)
    price = tr("price-fixed", price=low) if low == high else tr("price-range", low=low, high=high)
    required = sum(1 for f in model.fields if f.required)
    text = "\n".join([
        f"<b>{html.escape(model.name(lang))}</b>",
        html.escape(model.description(lang)),
        "",
        tr("card-task", task=html.escape(catalog.task_label(model.task, lang))),
        tr("card-params", total=len(model.fields), required=required),
        price,
    ])
    return Screen.of(text, [
        [button(tr("btn-start-model"), ModelCB(slug=model.slug, action=ModelAction.START, page=page))],
        [button(tr("btn-back"), CategoryCB(category=model.category, task=model.task, page=page))],
    ])
