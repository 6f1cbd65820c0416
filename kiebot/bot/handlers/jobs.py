"""Buttons on a generation's status message: ✖ Cancel while it waits in line, 🔁 Try again after a failure."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from kiebot.bot import ui
from kiebot.bot.callbacks import JobAction, JobCB
from kiebot.bot.drafts import Forms
from kiebot.bot.i18n import Translate
from kiebot.bot.screens import batch_status as batch_screens
from kiebot.bot.screens import status as screens
from kiebot.catalog import Catalog
from kiebot.services.account import AccountService, Profile
from kiebot.services.jobs import CancelOutcome, JobControl, TryAgainOutcome


def router() -> Router:
    r = Router(name="jobs")
    r.callback_query.register(cancel, JobCB.filter(F.action == JobAction.CANCEL))
    r.callback_query.register(try_again, JobCB.filter(F.action == JobAction.RETRY))
    r.callback_query.register(cancel_batch, JobCB.filter(F.action == JobAction.CANCEL_BATCH))
    return r


async def cancel(query: CallbackQuery, callback_data: JobCB, jobs: JobControl, accounts: AccountService,
                 catalog: Catalog, user: Profile, tr: Translate, lang: str) -> None:
    """The hold goes back at once: a job waiting in the bot's line has not reached KIE."""
    result = await jobs.cancel(user.id, callback_data.job_id)
    if result.outcome == CancelOutcome.TOO_LATE:
        await query.answer(tr("job-too-late"), show_alert=True)
        return
    if result.outcome != CancelOutcome.CANCELLED:
        await query.answer(tr("stale-button"))
        return
    await query.answer()
    job = await jobs.status(user.id, callback_data.job_id)
    if job is None:
        return
    balance = (await accounts.get(user.id)).balance
    shown = screens.JobStatus(job.job_id, job.model_id, job.state.value, job.price, job.charged,
                              error_code=job.error_code, balance=balance)
    screen = screens.status_screen(tr, lang, shown, catalog.known(job.model_id),
                                   offered=catalog.get(job.model_id) is not None)
    await ui.show(query, screen, edit=True)


async def cancel_batch(query: CallbackQuery, callback_data: JobCB, jobs: JobControl, accounts: AccountService,
                       catalog: Catalog, user: Profile, tr: Translate, lang: str) -> None:
    """Variants ×N while all of them wait in line: every hold goes back at once (`job_id` is the batch's id)."""
    cancelled = await jobs.cancel_batch(user.id, callback_data.job_id)
    if cancelled is None:
        await query.answer(tr("stale-button"))
        return
    if not cancelled:
        await query.answer(tr("batch-too-late"), show_alert=True)
        return
    await query.answer()
    batch = await jobs.batch(user.id, callback_data.job_id)
    if batch is None:
        return
    balance = (await accounts.get(user.id)).balance
    screen = batch_screens.batch_screen(tr, lang, batch, catalog.known(batch.model_id), balance,
                                        offered=catalog.get(batch.model_id) is not None)
    await ui.show(query, screen, edit=True)


async def try_again(query: CallbackQuery, callback_data: JobCB, jobs: JobControl, forms: Forms, catalog: Catalog,
                    user: Profile, tr: Translate) -> None:
    """The failed job's values on a new confirmation (its files included), to confirm or edit."""
    outcome, found = await jobs.try_again(user.id, callback_data.job_id, catalog)
    if outcome != TryAgainOutcome.READY or found is None:
        await query.answer(tr("job-gone") if outcome == TryAgainOutcome.MODEL_GONE else tr("stale-button"),
                           show_alert=outcome == TryAgainOutcome.MODEL_GONE)
        return
    model, draft = found
    await forms.open(draft, model).begin(query)
