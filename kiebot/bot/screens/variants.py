"""The variants screens of the confirmation (×N of the same values, or one parameter varied over ticked values)
and the variants' lines on the confirmation itself."""
from __future__ import annotations

import html
from typing import Any

from kiebot.bot.callbacks import VariantAction, VariantCB
from kiebot.bot.i18n import Translate
from kiebot.bot.screens.common import Screen, button, rows
from kiebot.catalog import FieldSpec, ModelSpec
from kiebot.services.batches import MAX_VARIANTS, MIN_VARIANTS, BatchQuote
from kiebot.services.wizard import Draft


def variants_screen(tr: Translate, lang: str, model: ModelSpec, draft: Draft, fields: list[FieldSpec]) -> Screen:
    """×1…×4 of the same values, then one 🎛 button per field that may be varied, then Back."""
    t = draft.token
    copies = [button(("✅ " if not draft.vary and draft.copies == n else "") + tr("btn-copies", count=n),
                     VariantCB(token=t, action=VariantAction.COPIES, arg=n)) for n in range(1, MAX_VARIANTS + 1)]
    kb = [copies]
    for index, spec in enumerate(fields):
        mark = "✅ " if draft.vary == spec.name else ""
        kb.append([button(mark + tr("btn-vary", field=spec.label(lang)),
                          VariantCB(token=t, action=VariantAction.FIELD, arg=index))])
    kb.append([button(tr("btn-back"), VariantCB(token=t, action=VariantAction.BACK))])
    text = tr("variants-title", model=html.escape(model.name(lang))) + "\n" + tr("variants-hint", most=MAX_VARIANTS)
    return Screen.of(text, kb)


def vary_screen(tr: Translate, lang: str, draft: Draft, spec: FieldSpec, options: tuple[Any, ...]) -> Screen:
    """The options of the varied field, ☑ ticked / ☐ not; ✅ Done once 2-4 are ticked."""
    t = draft.token
    ticks = [button(("☑ " if value in draft.vary_values else "☐ ") + spec.option_label(value, lang),
                    VariantCB(token=t, action=VariantAction.TICK, arg=i)) for i, value in enumerate(options)]
    longest = max((len(b.text) for b in ticks), default=0)
    kb = rows(ticks, 2 if longest <= 18 else 1)
    count = len(draft.vary_values)
    if MIN_VARIANTS <= count <= MAX_VARIANTS:
        kb.append([button(tr("btn-vary-done", count=count), VariantCB(token=t, action=VariantAction.DONE))])
    kb.append([button(tr("btn-back"), VariantCB(token=t, action=VariantAction.BACK))])
    text = tr("vary-title", field=html.escape(spec.label(lang)), least=MIN_VARIANTS, most=MAX_VARIANTS)
    return Screen.of(text + "\n" + tr("vary-ticked", count=count), kb)


def variant_label(tr: Translate, lang: str, model: ModelSpec | None, field: str | None, value: Any,
                  number: int) -> str:
    """How a variant is named: its value of the varied field, or "Variant N" for copies."""
    if field is None or model is None:
        return tr("variant-copy", number=number)
    return model.field(field).option_label(value, lang)


def batch_lines(tr: Translate, lang: str, model: ModelSpec, quote: BatchQuote, balance: int) -> list[str]:
    """The confirmation's price of a batch: "N × price = total", or each varied value with its own price."""
    values = [variant_label(tr, lang, model, quote.field, v.value, i + 1) for i, v in enumerate(quote.variants)]
    if quote.field is None:
        lines = [tr("confirm-copies", count=quote.size)]
    else:
        lines = [tr("confirm-varied", field=html.escape(model.field(quote.field).label(lang)),
                    values=html.escape(", ".join(values)))]
    suffix = "" if quote.exact else "-max"
    if quote.uniform:
        lines.append(tr("confirm-batch-price" + suffix, count=quote.size, price=quote.variants[0].units,
                        total=quote.total))
    else:
        lines += [tr("confirm-batch-each", value=html.escape(value), price=v.units)
                  for value, v in zip(values, quote.variants, strict=True)]
        lines.append(tr("confirm-batch-total" + suffix, total=quote.total))
    lines.append(tr("confirm-balance", balance=balance, after=balance - quote.total))
    if balance < quote.total:
        lines.append(tr("confirm-short", shortfall=quote.total - balance))
    return lines
