"""Buttons on the confirmation screen: ✅ confirm (hold the price, start the job), ✏️ edit a value, back, cancel."""
from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery

from kiebot.bot import ui
from kiebot.bot.callbacks import ConfirmAction, ConfirmCB
from kiebot.bot.drafts import FormFilter, OpenForm
from kiebot.bot.screens import batch_status as batch_screens
from kiebot.bot.screens import money as money_screens
from kiebot.bot.screens import status as status_screens
from kiebot.services.account import AccountService
from kiebot.services.generation import GenerationService
from kiebot.services.jobs import JobControl
from kiebot.services.money import MoneyService

log = logging.getLogger(__name__)
ON_CONFIRMATION = FormFilter(at_confirmation=True)


def router() -> Router:
    r = Router(name="confirm")
    for action, handler in ((ConfirmAction.GO, go), (ConfirmAction.EDIT, edit), (ConfirmAction.BACK, back),
                            (ConfirmAction.PAGE, page), (ConfirmAction.CANCEL, cancel)):
        r.callback_query.register(handler, ConfirmCB.filter(F.action == action), ON_CONFIRMATION)
    return r


async def go(query: CallbackQuery, form: OpenForm, generation: GenerationService, accounts: AccountService,
             money: MoneyService, jobs: JobControl) -> None:
    """Hold the price and queue the job; the confirmation message becomes the job's status message."""
    message = query.message
    if message is None:
        await query.answer(form.tr("stale-button"))
        return
    result = await generation.start(form.model, form.draft, user_id=form.forms.user.id, chat_id=message.chat.id,
                                    language=form.lang, status_message_id=message.message_id)
    if result.duplicate:
        await query.answer(form.tr("already-started"))
    elif result.shortfall:
        await query.answer()
        balance_now = (await accounts.get(form.forms.user.id)).balance
        offer = money_screens.shortfall(form.tr, result.shortfall, balance_now, money.package_for(result.shortfall))
        await ui.show(message, offer, edit=False)
    elif result.started is None:
        log.error("cannot start %s: %s", form.model.id, "; ".join(result.invalid))
        await query.answer(form.tr("cannot-start"), show_alert=True)
    else:
        await form.close()
        await query.answer(form.tr("started"))
        started = result.started
        if started.batch_id is not None:
            await _show_batch(query, form, jobs, started.batch_id)
        else:
            status = status_screens.JobStatus(started.job_id, form.model.id, "waiting", started.price, ahead=started.ahead)
            await ui.show(query, status_screens.status_screen(form.tr, form.lang, status, form.model), edit=True)
        if await money.low_balance_due(form.forms.user.id):
            balance_now = (await accounts.get(form.forms.user.id)).balance
            await message.answer(form.tr("low-balance", balance=balance_now))


async def _show_batch(query: CallbackQuery, form: OpenForm, jobs: JobControl, batch_id: int) -> None:
    """The confirmation message becomes the batch's one status message."""
    batch = await jobs.batch(form.forms.user.id, batch_id)
    if batch is not None:
        await ui.show(query, batch_screens.batch_screen(form.tr, form.lang, batch, form.model), edit=True)


async def edit(query: CallbackQuery, callback_data: ConfirmCB, form: OpenForm) -> None:
    fields = form.model.fields
    if 0 <= callback_data.arg < len(fields):
        form.draft.edit(form.model, fields[callback_data.arg].name)
    await form.redraw(query)


async def back(query: CallbackQuery, form: OpenForm) -> None:
    form.draft.back(form.model)
    await form.redraw(query)


async def page(query: CallbackQuery, callback_data: ConfirmCB, form: OpenForm) -> None:
    await form.redraw(query, callback_data.arg)


async def cancel(query: CallbackQuery, form: OpenForm) -> None:
    await form.cancel(query)
