"""What the user sends while a form is open: a typed value, a part of a long text, a .txt file, or a file."""
from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from kiebot.bot import ui
from kiebot.bot.drafts import FormFilter, OpenForm, Wizard
from kiebot.bot.i18n import Translate
from kiebot.bot.incoming import incoming_file, read_text_document, telegram_downloader
from kiebot.bot.screens import wizard as screens
from kiebot.catalog import FieldKind
from kiebot.services import answers
from kiebot.services.answers import InputFiles
from kiebot.services.media import FileTooLarge


def router() -> Router:
    r = Router(name="answers")
    r.message.register(on_answer, StateFilter(Wizard.form), FormFilter())
    r.message.register(on_form_gone, StateFilter(Wizard.form))
    return r


async def on_answer(message: Message, form: OpenForm, bot: Bot, inputs: InputFiles) -> None:
    if form.draft.at_confirmation:
        await message.answer(form.tr("confirm-use-buttons"))
        return
    try:
        moved = await _apply(message, form, bot, inputs)
    except answers.AnswerError as exc:
        await message.answer(form.tr(exc.code, **exc.params) + "\n" + form.tr("try-again"))
        moved = True
    except FileTooLarge:
        await message.answer(form.tr("err-file-too-large"))
        moved = True
    except answers.UploadFailed:
        await message.answer(form.tr("err-upload-failed"))
        moved = True
    await form.save()
    if moved:
        await ui.show(message, await form.screen(), edit=False)
    else:  # one part of a long text: acknowledged without repeating the step
        await ui.show(message, screens.text_part_received(form.tr, form.draft), edit=False)


async def _apply(message: Message, form: OpenForm, bot: Bot, inputs: InputFiles) -> bool:
    """Apply the message to the current step. False: it was a part of a longer text, kept for the rest."""
    draft, model = form.draft, form.model
    spec = draft.spec(model)
    assert spec is not None
    if inputs.expects_file(draft, model):
        await inputs.answer_file(draft, model, incoming_file(message, spec.media), telegram_downloader(bot))
        return True
    if message.text is None and message.document is not None and spec.kind == FieldKind.TEXT:
        whole = await read_text_document(bot, message.document)  # a file is a whole text, never a part
        return answers.answer_text(draft, model, whole, finish=True)
    if message.text is None:
        raise answers.AnswerError("err-expected-text")
    return answers.answer_text(draft, model, message.text)


async def on_form_gone(message: Message, state: FSMContext, tr: Translate) -> None:
    """A form whose model is no longer offered (or whose data is gone)."""
    await state.clear()
    await message.answer(tr("wizard-expired"))
