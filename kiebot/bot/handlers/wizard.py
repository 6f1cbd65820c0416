"""Buttons on a step of the form. The rules live in `services.wizard.Draft`; these only apply a press and redraw."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from kiebot.bot import ui
from kiebot.bot.callbacks import StepAction, StepCB
from kiebot.bot.drafts import FormFilter, OpenForm
from kiebot.bot.screens import catalog as catalog_screens
from kiebot.catalog import Catalog, FieldKind
from kiebot.config import Settings
from kiebot.services import answers
from kiebot.services.wizard import COLLECTION_KINDS

ON_STEP = FormFilter(at_confirmation=False)


def router() -> Router:
    r = Router(name="wizard")
    for action, handler in (
        (StepAction.PICK, pick), (StepAction.PAGE, page), (StepAction.YES, yes), (StepAction.NO, no),
        (StepAction.KEEP, keep), (StepAction.REST, rest), (StepAction.DONE, done), (StepAction.MORE, more),
        (StepAction.BACK, back), (StepAction.CANCEL, cancel), (StepAction.TEXT_DONE, text_done),
    ):
        r.callback_query.register(handler, StepCB.filter(F.action == action), ON_STEP)
    return r


async def pick(query: CallbackQuery, callback_data: StepCB, form: OpenForm) -> None:
    if not form.draft.pick(form.model, callback_data.arg):
        await query.answer(form.tr("stale-button"))
        return
    await form.redraw(query)


async def page(query: CallbackQuery, callback_data: StepCB, form: OpenForm) -> None:
    await form.redraw(query, page=callback_data.arg)


async def yes(query: CallbackQuery, form: OpenForm) -> None:
    await _yes_no(query, form, True)


async def no(query: CallbackQuery, form: OpenForm) -> None:
    await _yes_no(query, form, False)


async def _yes_no(query: CallbackQuery, form: OpenForm, value: bool) -> None:
    if not form.draft.answer_yes_no(form.model, value):
        await query.answer(form.tr("stale-button"))
        return
    await form.redraw(query)


async def keep(query: CallbackQuery, form: OpenForm) -> None:
    form.draft.keep_default(form.model)
    await form.redraw(query)


async def rest(query: CallbackQuery, form: OpenForm) -> None:
    form.draft.use_defaults_for_rest(form.model)
    await form.redraw(query)


async def done(query: CallbackQuery, form: OpenForm) -> None:
    """Done with a list: of files or texts (once enough are in), or of entries of an array-of-objects field."""
    draft, model = form.draft, form.model
    spec = draft.spec(model)
    if spec is not None and spec.kind in COLLECTION_KINDS and draft.can_finish_collection(model):
        draft.finish_collection(model)
    elif spec is not None and spec.kind == FieldKind.OBJECTS:
        draft.items_done(model)
    await form.redraw(query)


async def more(query: CallbackQuery, form: OpenForm) -> None:
    form.draft.start_item(form.model)
    await form.redraw(query)


async def back(query: CallbackQuery, form: OpenForm, catalog: Catalog, settings: Settings) -> None:
    """The previous step; from the first one, back to the model's card (on the list page it came from)."""
    if form.draft.back(form.model):
        await form.redraw(query)
        return
    list_page = await form.list_page()
    await form.close()
    await query.answer()
    card = catalog_screens.model_card(form.tr, form.lang, catalog, form.model, settings.price_markup, list_page)
    await ui.show(query, card, edit=True)


async def cancel(query: CallbackQuery, form: OpenForm) -> None:
    await form.cancel(query)


async def text_done(query: CallbackQuery, form: OpenForm) -> None:
    """The parts of a long text received so far are the whole text."""
    try:
        answers.answer_text(form.draft, form.model, "", finish=True)
    except answers.AnswerError as exc:
        await query.answer(form.tr(exc.code, **exc.params), show_alert=True)
        await form.save()
        return
    await form.redraw(query)
