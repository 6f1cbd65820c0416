"""The wizard's screens: a step of the form, and the confirmation with the price and ✏️ buttons."""
from __future__ import annotations

import html
import json
from typing import Any

from kiebot.bot.callbacks import ConfirmAction, ConfirmCB, StepAction, StepCB
from kiebot.bot.i18n import Translate
from kiebot.bot.screens import variants as variant_screens
from kiebot.bot.screens.common import Keyboard, Pager, Screen, button, rows, shorten
from kiebot.bot.screens.next_steps import parent_lines, parent_rows
from kiebot.catalog import FieldKind, FieldSpec, ModelSpec
from kiebot.services.batches import BatchQuote
from kiebot.services.generation import Price
from kiebot.services.next_steps import ParentChoices
from kiebot.services.wizard import COLLECTION_KINDS, Draft

CHOICES = Pager(per_page=8)
EDITS = Pager(per_page=12)
SHORT_VALUE = 120  # characters of a long value shown on the confirmation screen


# --- values as the user sees them -------------------------------------------------------------
def show_value(tr: Translate, lang: str, spec: FieldSpec, value: Any) -> str:
    if spec.kind in (FieldKind.FILE, FieldKind.FILES):
        count = len(value) if isinstance(value, list) else 1
        return tr("value-files", count=count)
    if spec.kind == FieldKind.BOOL:
        return tr("yes") if value else tr("no")
    if spec.kind == FieldKind.TASK:
        return tr("value-parent")
    if spec.kind == FieldKind.CHOICE:
        return spec.option_label(value, lang)
    if spec.kind == FieldKind.OBJECTS:
        return tr("value-items", count=len(value or []))
    if spec.kind in (FieldKind.TEXTS, FieldKind.JSON):
        return shorten(json.dumps(value, ensure_ascii=False), SHORT_VALUE)
    return shorten(str(value), SHORT_VALUE)


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
    if kind == FieldKind.TASK:
        return tr("rule-parent")
    return tr("rule-choice")


# --- a wizard step ------------------------------------------------------------------------------
def step_screen(tr: Translate, lang: str, model: ModelSpec, draft: Draft, page: int = 0,
                parents: ParentChoices | None = None) -> Screen:
    """`parents`: for a TASK step, the user's earlier generations it may take."""
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
        lines.append(tr("current-is", value=html.escape(_shown(tr, lang, spec, current, draft))))
    if spec.kind == FieldKind.TASK and parents is not None:
        lines += parent_lines(tr, lang, parents)
    if spec.kind == FieldKind.OBJECTS and draft.sub is None:
        lines.append(tr("items-added", count=len(draft.values.get(spec.name) or [])))
    if draft.pending:
        lines.append(tr("collected", count=len(draft.pending)))
    if draft.partial_text:
        lines.append(tr("text-parts", chars=len(draft.partial_text)))
    keyboard = _step_buttons(tr, lang, model, draft, spec, page)
    if spec.kind == FieldKind.TASK and parents is not None:
        keyboard = parent_rows(tr, lang, draft, parents, page) + keyboard
    return Screen.of("\n".join(lines), keyboard)


def _shown(tr: Translate, lang: str, spec: FieldSpec, value: Any, draft: Draft) -> str:
    """A value as the user sees it; a TASK field names the generation it continues from."""
    if spec.kind == FieldKind.TASK and spec.name in draft.parents:
        return tr("value-parent-job", job=draft.parents[spec.name])
    return show_value(tr, lang, spec, value)


def _step_buttons(
    tr: Translate, lang: str, model: ModelSpec, draft: Draft, spec: FieldSpec, page: int
) -> Keyboard:
    t = draft.token
    kb: Keyboard = []
    if spec.kind == FieldKind.CHOICE:
        kb += _choice_rows(lang, model, draft, spec, page)
    elif spec.kind == FieldKind.BOOL:
        mark = lambda v: "✓ " if spec.has_default and spec.default is v else ""  # noqa: E731
        kb.append([button(mark(True) + tr("yes"), StepCB(token=t, action=StepAction.YES)),
                   button(mark(False) + tr("no"), StepCB(token=t, action=StepAction.NO))])
    elif spec.kind in (FieldKind.INTEGER, FieldKind.NUMBER) and spec.presets:
        presets = [button(_preset_label(spec, v), StepCB(token=t, action=StepAction.PICK, arg=i)) for i, v in enumerate(spec.presets)]
        kb += rows(presets, 3)
    if spec.kind in COLLECTION_KINDS and draft.can_finish_collection(model):
        kb.append([button(tr("btn-done-count", count=len(draft.pending)), StepCB(token=t, action=StepAction.DONE))])
    if spec.kind == FieldKind.OBJECTS and draft.sub is None:
        count = len(draft.values.get(spec.name) or [])
        line = []
        if spec.max_items is None or count < spec.max_items:
            line.append(button(tr("btn-add-item"), StepCB(token=t, action=StepAction.MORE)))
        if count >= (spec.min_items or 0):
            line.append(button(tr("btn-items-done"), StepCB(token=t, action=StepAction.DONE)))
        kb.append(line)
    if draft.partial_text:
        kb.append([button(tr("btn-text-done"), StepCB(token=t, action=StepAction.TEXT_DONE))])
    if not spec.required or spec.has_default:
        label = tr("btn-keep-default") if spec.has_default else tr("btn-skip")
        kb.append([button(label, StepCB(token=t, action=StepAction.KEEP))])
    if not spec.required and not draft.sub and not draft.editing:
        kb.append([button(tr("btn-defaults-rest"), StepCB(token=t, action=StepAction.REST))])
    kb.append([button(tr("btn-back"), StepCB(token=t, action=StepAction.BACK)),
               button(tr("btn-cancel"), StepCB(token=t, action=StepAction.CANCEL))])
    return kb


def _preset_label(spec: FieldSpec, value: Any) -> str:
    return ("✓ " if spec.has_default and value == spec.default else "") + str(value)


def _choice_rows(lang: str, model: ModelSpec, draft: Draft, spec: FieldSpec, page: int) -> Keyboard:
    options = draft.choices(model)
    page = CHOICES.clamp(page, len(options))
    start = page * CHOICES.per_page
    chosen = draft.current_value(model)
    buttons = []
    for index in range(start, min(start + CHOICES.per_page, len(options))):
        value = options[index]
        mark = "✅ " if value == chosen else ("✓ " if spec.has_default and value == spec.default else "")
        data = StepCB(token=draft.token, action=StepAction.PICK, arg=index)
        buttons.append(button(mark + spec.option_label(value, lang), data))
    longest = max((len(b.text) for b in buttons), default=0)
    kb = rows(buttons, 2 if longest <= 18 else 1)
    pager = CHOICES.row(page, len(options), lambda p: StepCB(token=draft.token, action=StepAction.PAGE, arg=p))
    if pager:
        kb.append(pager)
    return kb


# --- confirmation ------------------------------------------------------------------------------
def confirm_screen(
    tr: Translate, lang: str, model: ModelSpec, draft: Draft, price: Price | None, balance: int, page: int = 0,
    *, free_left: int = 0, batch: BatchQuote | None = None,
) -> Screen:
    """`free_left`: the user's free tries of today for this model; one of them pays for this run. `batch`: the
    variants' prices when the draft asks for 2-4 runs (free tries are not used for a batch)."""
    lines = [tr("confirm-title", model=html.escape(model.name(lang)))]
    for spec in model.fields:
        if spec.name == draft.vary and batch is not None:  # one run per ticked value
            shown = ", ".join(spec.option_label(value, lang) for value in draft.vary_values)
        elif spec.name in draft.values:
            shown = _shown(tr, lang, spec, draft.values[spec.name], draft)
        elif spec.has_default:
            shown = tr("value-default", value=show_value(tr, lang, spec, spec.default))
        else:
            shown = tr("value-unset")
        lines.append(f"• {html.escape(spec.label(lang))}: {html.escape(shown)}")
    lines.append("")
    if draft.batch_size > 1 and batch is not None:
        lines += variant_screens.batch_lines(tr, lang, model, batch, balance)
    elif price is None or draft.batch_size > 1:
        lines.append(tr("confirm-no-price"))
    elif free_left:
        lines.append(tr("confirm-free", left=free_left))
    else:
        lines.append(tr("confirm-price", price=price.units) if price.exact else tr("confirm-price-max", price=price.units))
        lines.append(tr("confirm-balance", balance=balance, after=balance - price.units))
        if balance < price.units:
            lines.append(tr("confirm-short", shortfall=price.units - balance))
    t = draft.token
    edits = [button("✏️ " + spec.label(lang), ConfirmCB(token=t, action=ConfirmAction.EDIT, arg=i))
             for i, spec in enumerate(model.fields)]
    kb = rows(EDITS.slice(edits, page), 2)
    pager = EDITS.row(page, len(edits), lambda p: ConfirmCB(token=t, action=ConfirmAction.PAGE, arg=p))
    if pager:
        kb.append(pager)
    variants = tr("btn-variants-count", count=draft.batch_size) if draft.batch_size > 1 else tr("btn-variants")
    kb.append([button(variants, ConfirmCB(token=t, action=ConfirmAction.VARIANTS))])
    if draft.batch_size > 1 and batch is not None:
        label = tr("btn-confirm-batch", count=batch.size, total=batch.total)
        kb.append([button(label, ConfirmCB(token=t, action=ConfirmAction.GO))])
    elif price is not None and draft.batch_size == 1:
        label = tr("btn-confirm-free") if free_left else tr("btn-confirm", price=price.units)
        kb.append([button(label, ConfirmCB(token=t, action=ConfirmAction.GO))])
    kb.append([button(tr("btn-back"), ConfirmCB(token=t, action=ConfirmAction.BACK)),
               button(tr("btn-cancel"), ConfirmCB(token=t, action=ConfirmAction.CANCEL))])
    return Screen.of("\n".join(lines), kb)


def text_part_received(tr: Translate, draft: Draft) -> Screen:
    """Shown after each part of a long text, instead of repeating the step."""
    done = button(tr("btn-text-done"), StepCB(token=draft.token, action=StepAction.TEXT_DONE))
    return Screen.of(tr("text-part-received", chars=len(draft.partial_text)), [[done]])
