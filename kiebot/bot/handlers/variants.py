"""🔢 Variants on the confirmation: ×N runs of the same values, or one parameter varied over 2-4 ticked values."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from kiebot.bot import ui
from kiebot.bot.callbacks import ConfirmAction, ConfirmCB, VariantAction, VariantCB
from kiebot.bot.drafts import FormFilter, OpenForm
from kiebot.bot.screens import variants as screens
from kiebot.services import batches

ON_CONFIRMATION = FormFilter(at_confirmation=True)


def router() -> Router:
    r = Router(name="variants")
    r.callback_query.register(open_variants, ConfirmCB.filter(F.action == ConfirmAction.VARIANTS), ON_CONFIRMATION)
    for action, handler in ((VariantAction.COPIES, copies), (VariantAction.FIELD, vary), (VariantAction.TICK, tick),
                            (VariantAction.DONE, done), (VariantAction.BACK, back)):
        r.callback_query.register(handler, VariantCB.filter(F.action == action), ON_CONFIRMATION)
    return r


async def _show_menu(query: CallbackQuery, form: OpenForm) -> None:
    await query.answer()
    await form.save()
    fields = batches.varying_fields(form.model, form.draft)
    await ui.show(query, screens.variants_screen(form.tr, form.lang, form.model, form.draft, fields), edit=True)


async def _show_values(query: CallbackQuery, form: OpenForm) -> None:
    await query.answer()
    await form.save()
    spec = form.model.field(form.draft.vary or "")
    options = batches.vary_options(form.model, form.draft, spec)
    await ui.show(query, screens.vary_screen(form.tr, form.lang, form.draft, spec, options), edit=True)


async def open_variants(query: CallbackQuery, form: OpenForm) -> None:
    form.draft.token += 1  # the confirmation's buttons are stale while this screen is shown
    await _show_menu(query, form)


async def copies(query: CallbackQuery, callback_data: VariantCB, form: OpenForm) -> None:
    """×N of the same values (×1: a single run): straight back to the confirmation with the new total."""
    if 1 <= callback_data.arg <= batches.MAX_VARIANTS:
        form.draft.set_copies(callback_data.arg)
    await form.redraw(query)


async def vary(query: CallbackQuery, callback_data: VariantCB, form: OpenForm) -> None:
    fields = batches.varying_fields(form.model, form.draft)
    if not 0 <= callback_data.arg < len(fields):
        await _show_menu(query, form)
        return
    form.draft.vary_field(fields[callback_data.arg].name)
    await _show_values(query, form)


async def tick(query: CallbackQuery, callback_data: VariantCB, form: OpenForm) -> None:
    if not form.draft.vary:
        await _show_menu(query, form)
        return
    options = batches.vary_options(form.model, form.draft, form.model.field(form.draft.vary))
    if 0 <= callback_data.arg < len(options) and not form.draft.tick_variant(options[callback_data.arg],
                                                                            batches.MAX_VARIANTS):
        await query.answer(form.tr("vary-too-many", most=batches.MAX_VARIANTS), show_alert=True)
        return
    await _show_values(query, form)


async def done(query: CallbackQuery, form: OpenForm) -> None:
    if not batches.is_batch(form.draft):
        await query.answer(form.tr("vary-too-few", least=batches.MIN_VARIANTS), show_alert=True)
        return
    form.draft.token += 1
    await form.redraw(query)


async def back(query: CallbackQuery, form: OpenForm) -> None:
    """From the ticked values to the variants screen (fewer than two ticked: nothing is varied), from there to
    the confirmation."""
    if form.draft.vary and not batches.is_batch(form.draft):
        form.draft.vary_field(None)
        await _show_menu(query, form)
        return
    form.draft.token += 1
    await form.redraw(query)
