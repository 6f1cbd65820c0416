"""Continuing from a result: a next step under it (its short model list), a model of that list (its form with the
result filled in), and an earlier generation picked on a step that takes one. The rules are in
`services.next_steps`; a job that is not the user's is answered like a button of an older screen. Also 📝 Lyrics under
a song: its tracks' lyrics in new messages."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from kiebot.bot import ui
from kiebot.bot.callbacks import JobAction, JobCB, NextAction, NextCB, ParentCB
from kiebot.bot.drafts import FormFilter, Forms, OpenForm
from kiebot.bot.i18n import Translate
from kiebot.bot.screens import next_steps as screens
from kiebot.catalog import Catalog
from kiebot.services.account import Profile
from kiebot.services.next_steps import NextSteps, Step, StepOutcome


def router() -> Router:
    r = Router(name="next_steps")
    r.callback_query.register(step_models, NextCB.filter(F.action == NextAction.STEP))
    r.callback_query.register(open_model, NextCB.filter(F.action == NextAction.MODEL))
    r.callback_query.register(pick_parent, ParentCB.filter(), FormFilter(at_confirmation=False))
    r.callback_query.register(lyrics, JobCB.filter(F.action == JobAction.LYRICS))
    return r


async def _refuse(query: CallbackQuery, tr: Translate, outcome: StepOutcome) -> None:
    if outcome == StepOutcome.NO_MODEL:
        await query.answer(tr("next-none"), show_alert=True)
    else:
        await query.answer(tr("stale-button"))


async def step_models(query: CallbackQuery, callback_data: NextCB, next_steps: NextSteps, catalog: Catalog,
                      user: Profile, tr: Translate, lang: str) -> None:
    """Which of the result's files (when it has several), then the short list of models for the step: in a new
    message under the result's buttons, which stay."""
    job_id, item = callback_data.job_id, callback_data.item
    step = Step(callback_data.step) if callback_data.step in set(Step) else None
    shown = None if step is None else await next_steps.models(user.id, job_id, step, item, catalog)
    if shown is None or shown.outcome != StepOutcome.READY or step is None:
        await _refuse(query, tr, shown.outcome if shown else StepOutcome.NOT_FOUND)
        return
    await query.answer()
    screen = (screens.items_screen(tr, job_id, step, shown.items, shown.stems) if shown.items
              else screens.models_screen(tr, lang, job_id, step, shown.models, item))
    await ui.show(query, screen, edit=item >= 0)  # an item chosen on the picker: the list takes its place


async def open_model(query: CallbackQuery, callback_data: NextCB, next_steps: NextSteps, forms: Forms,
                     catalog: Catalog, user: Profile, tr: Translate) -> None:
    """The model's form with the result already filled in; the rest is asked as usual."""
    outcome, found = await next_steps.open(user.id, callback_data.job_id, callback_data.slug, callback_data.item,
                                           catalog)
    if outcome != StepOutcome.READY or found is None:
        await _refuse(query, tr, outcome)
        return
    model, draft = found
    await forms.open(draft, model).begin(query)


async def pick_parent(query: CallbackQuery, callback_data: ParentCB, form: OpenForm, next_steps: NextSteps,
                      catalog: Catalog, user: Profile) -> None:
    """An earlier generation chosen for the step: its task id (and the chosen item's id) fill the form."""
    values = await next_steps.pick(user.id, form.model, callback_data.job_id, callback_data.item, catalog)
    if values is None or not form.draft.choose_parent(form.model, callback_data.job_id, values):
        await query.answer(form.tr("stale-button"))
        return
    await form.redraw(query)


async def lyrics(query: CallbackQuery, callback_data: JobCB, next_steps: NextSteps, user: Profile,
                 tr: Translate) -> None:
    """The lyrics of the song's tracks, each under its title, in new messages below the result."""
    songs = await next_steps.lyrics(user.id, callback_data.job_id)
    if not songs:
        await query.answer(tr("stale-button"))
        return
    await query.answer()
    for screen in screens.lyrics_screens(tr, songs):
        await ui.show(query, screen, edit=False)
