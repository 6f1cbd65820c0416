"""Screens of the wizard: text and keyboard for a step and for the confirmation. UI only."""
from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from kiebot.bot.callbacks import ConfirmCB, StepCB
from kiebot.bot.i18n import Translate
from kiebot.catalog import Catalog, FieldKind, FieldSpec, ModelSpec, pricing
from kiebot.services.generation import Price
from kiebot.services.wizard import COLLECTION_KINDS, Draft

CHOICES_PER_PAGE = 8
EDITS_PER_PAGE = 12
SHORT_VALUE = 120  # characters of a long value shown on the confirmation screen


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None


def button(text: str, data: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack() if hasattr(data, "pack") else data)


def rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def pager(page: int, pages: int, data_for: Callable[[int], Any]) -> list[InlineKeyboardButton]:
    """◀ n/N ▶ for a list shown page by page; `data_for(page)` is the callback data of a page."""
    row = [button("◀", data_for(page - 1))] if page > 0 else []
    row.append(button(f"{page + 1}/{pages}", data_for(page)))
    if page < pages - 1:
        row.append(button("▶", data_for(page + 1)))
    return row


def page_count(items: int, per_page: int) -> int:
    return max(1, -(-items // per_page))


def shorten(text: str, limit: int = SHORT_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- values as the user sees them -------------------------------------------------------------
def show_value(tr: Translate, lang: str, spec: FieldSpec, value: Any, draft: Draft | None = None) -> str:
    if spec.kind in (FieldKind.FILE, FieldKind.FILES):
        count = len(value) if isinstance(value, list) else 1
        return tr("value-files", count=count)
    if spec.kind == FieldKind.BOOL:
        return tr("yes") if value else tr("no")
    if spec.kind == FieldKind.CHOICE:
        return spec.option_label(value, lang)
    if spec.kind == FieldKind.OBJECTS:
        return tr("value-items", count=len(value or []))
    if spec.kind in (FieldKind.TEXTS, FieldKind.JSON):
        return shorten(json.dumps(value, ensure_ascii=False))
    return shorten(str(value))


def constraint_line(tr: Translate, spec: FieldSpec) -> str:
    kind = spec.kind
    if kind in (FieldKind.INTEGER, FieldKind.NUMBER) and spec.minimum is not None and spec.maximum is not None:
        key = "rule-integer-range" if kind == FieldKind.INTEGER else "rule-number-range"
        return tr(key, min=str(spec.minimum), max=str(spec.maximum))
    if kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        return tr("rule-integer" if kind == FieldKind.INTEGER else "rule-number")
    if kind == FieldKind.TEXT:
        return tr("rule-text", max=spec.max_length or 0) if spec.max_length else tr("rule-text-free")
    if kind == FieldKind.FILE:
        return tr("rule-file", media=spec.media or "document")
    if kind == FieldKind.FILES:
        return tr("rule-files", media=spec.media or "document", min=spec.min_items or 1, max=spec.max_items or 0)
    if kind == FieldKind.TEXTS:
        return tr("rule-texts", max=spec.max_items or 0)
    if kind == FieldKind.JSON:
        return tr("rule-json")
    if kind == FieldKind.OBJECTS:
        return tr("rule-objects", max=spec.max_items or 0)
    return tr("rule-choice")


# --- a wizard step ------------------------------------------------------------------------------
def step_screen(tr: Translate, lang: str, model: ModelSpec, draft: Draft, page: int = 0) -> Screen:
    spec = draft.spec(model)
    assert spec is not None
    number, total = draft.progress(model)
    lines = [tr("step-header", model=html.escape(model.name(lang)), number=number, total=total)]
    title = html.escape(spec.label(lang))
    if draft.sub:
        parent = model.field(draft.current or "")
        title = f"{html.escape(parent.label(lang))} → {title}"
    lines.append(f"<b>{title}</b>" + ("" if spec.required else " " + tr("optional-mark")))
    if spec.hint(lang):
        lines.append(html.escape(spec.hint(lang)))
    lines.append("<i>" + html.escape(constraint_line(tr, spec)) + "</i>")
    if spec.has_default:
        lines.append(tr("default-is", value=html.escape(show_value(tr, lang, spec, spec.default))))
    current = draft.current_value(model)
    if current is not None and spec.kind != FieldKind.OBJECTS:
        lines.append(tr("current-is", value=html.escape(show_value(tr, lang, spec, current))))
    if spec.kind == FieldKind.OBJECTS and draft.sub is None:
        lines.append(tr("items-added", count=len(draft.values.get(spec.name) or [])))
    if draft.pending:
        lines.append(tr("collected", count=len(draft.pending)))
    if draft.partial_text:
        lines.append(tr("text-parts", chars=len(draft.partial_text)))
    keyboard = _step_buttons(tr, lang, model, draft, spec, page)
    return Screen("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=keyboard))


def _step_buttons(
    tr: Translate, lang: str, model: ModelSpec, draft: Draft, spec: FieldSpec, page: int
) -> list[list[InlineKeyboardButton]]:
    t = draft.token
    kb: list[list[InlineKeyboardButton]] = []
    if spec.kind == FieldKind.CHOICE:
        kb += _choice_rows(lang, model, draft, spec, page)
    elif spec.kind == FieldKind.BOOL:
        mark = lambda v: "✓ " if spec.has_default and spec.default is v else ""  # noqa: E731
        kb.append([button(mark(True) + tr("yes"), StepCB(token=t, action="yes")),
                   button(mark(False) + tr("no"), StepCB(token=t, action="no"))])
    elif spec.kind in (FieldKind.INTEGER, FieldKind.NUMBER) and spec.presets:
        presets = [button(_preset_label(spec, v), StepCB(token=t, action="pick", arg=i)) for i, v in enumerate(spec.presets)]
        kb += rows(presets, 3)
    if spec.kind in COLLECTION_KINDS and draft.can_finish_collection(model):
        kb.append([button(tr("btn-done-count", count=len(draft.pending)), StepCB(token=t, action="done"))])
    if spec.kind == FieldKind.OBJECTS and draft.sub is None:
        count = len(draft.values.get(spec.name) or [])
        line = []
        if spec.max_items is None or count < spec.max_items:
            line.append(button(tr("btn-add-item"), StepCB(token=t, action="more")))
        if count >= (spec.min_items or 0):
            line.append(button(tr("btn-items-done"), StepCB(token=t, action="done")))
        kb.append(line)
    if draft.partial_text:
        kb.append([button(tr("btn-text-done"), StepCB(token=t, action="text-done"))])
    if not spec.required or spec.has_default:
        label = tr("btn-keep-default") if spec.has_default else tr("btn-skip")
        kb.append([button(label, StepCB(token=t, action="keep"))])
    if not spec.required and not draft.sub and not draft.editing:
        kb.append([button(tr("btn-defaults-rest"), StepCB(token=t, action="rest"))])
    kb.append([button(tr("btn-back"), StepCB(token=t, action="back")),
               button(tr("btn-cancel"), StepCB(token=t, action="cancel"))])
    return kb


def _preset_label(spec: FieldSpec, value: Any) -> str:
    return ("✓ " if spec.has_default and value == spec.default else "") + str(value)


def offered(model: ModelSpec, draft: Draft, spec: FieldSpec) -> tuple[Any, ...]:
    """The options of a choice that keep the form priced (only top-level fields enter the price)."""
    if draft.sub:
        return tuple(spec.options)
    return tuple(pricing.offered_options(model, spec, draft.values))


def _choice_rows(lang: str, model: ModelSpec, draft: Draft, spec: FieldSpec, page: int) -> list[list[InlineKeyboardButton]]:
    options = offered(model, draft, spec)
    pages = page_count(len(options), CHOICES_PER_PAGE)
    page = min(max(page, 0), pages - 1)
    start = page * CHOICES_PER_PAGE
    chosen = draft.current_value(model)
    buttons = []
    for index in range(start, min(start + CHOICES_PER_PAGE, len(options))):
        value = options[index]
        mark = "✅ " if value == chosen else ("✓ " if spec.has_default and value == spec.default else "")
        buttons.append(button(mark + spec.option_label(value, lang), StepCB(token=draft.token, action="pick", arg=index)))
    longest = max((len(b.text) for b in buttons), default=0)
    kb = rows(buttons, 2 if longest <= 18 else 1)
    if pages > 1:
        kb.append(pager(page, pages, lambda p: StepCB(token=draft.token, action="page", arg=p)))
    return kb


# --- confirmation ------------------------------------------------------------------------------
def confirm_screen(
    tr: Translate, lang: str, model: ModelSpec, draft: Draft, price: Price | None, balance: int, page: int = 0
) -> Screen:
    lines = [tr("confirm-title", model=html.escape(model.name(lang)))]
    for spec in model.fields:
        if spec.name in draft.values:
            shown = show_value(tr, lang, spec, draft.values[spec.name])
        elif spec.has_default:
            shown = tr("value-default", value=show_value(tr, lang, spec, spec.default))
        else:
            shown = tr("value-unset")
        lines.append(f"• {html.escape(spec.label(lang))}: {html.escape(shown)}")
    lines.append("")
    if price is None:
        lines.append(tr("confirm-no-price"))
    else:
        lines.append(tr("confirm-price", price=price.units) if price.exact else tr("confirm-price-max", price=price.units))
        lines.append(tr("confirm-balance", balance=balance, after=balance - price.units))
        if balance < price.units:
            lines.append(tr("confirm-short", shortfall=price.units - balance))
    t = draft.token
    edits = [button("✏️ " + spec.label(lang), ConfirmCB(token=t, action="edit", arg=i)) for i, spec in enumerate(model.fields)]
    pages = page_count(len(edits), EDITS_PER_PAGE)
    page = min(max(page, 0), pages - 1)
    kb = rows(edits[page * EDITS_PER_PAGE : (page + 1) * EDITS_PER_PAGE], 2)
    if pages > 1:
        kb.append(pager(page, pages, lambda p: ConfirmCB(token=t, action="page", arg=p)))
    if price is not None:
        kb.append([button(tr("btn-confirm", price=price.units), ConfirmCB(token=t, action="go"))])
    kb.append([button(tr("btn-back"), ConfirmCB(token=t, action="back")),
               button(tr("btn-cancel"), ConfirmCB(token=t, action="cancel"))])
    return Screen("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=kb))


# --- catalogue ---------------------------------------------------------------------------------
def model_card(tr: Translate, lang: str, catalog: Catalog, model: ModelSpec, markup: Decimal) -> Screen:
    from kiebot.bot.callbacks import CategoryCB, ModelCB

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
    kb = [[button(tr("btn-start-model"), ModelCB(slug=model.slug, action="start"))],
          [button(tr("btn-back"), CategoryCB(category=model.category, task=model.task))]]
    return Screen(text, InlineKeyboardMarkup(inline_keyboard=kb))

