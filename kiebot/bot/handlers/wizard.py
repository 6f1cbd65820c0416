"""The parameter wizard and the confirmation screen: UI only, the rules live in services.wizard."""
from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.bot import status
from kiebot.bot.callbacks import ConfirmCB, StepCB
from kiebot.bot.i18n import Translate
from kiebot.bot.incoming import incoming_file, read_text_document, telegram_downloader
from kiebot.bot.render import Screen, button, model_card, offered
from kiebot.bot.screens import Wizard, load_draft, save_draft, screen_for, show
from kiebot.catalog import Catalog, FieldKind, FieldSpec, ModelSpec, form
from kiebot.config import Settings
from kiebot.kie.errors import KieError
from kiebot.services import generation, media
from kiebot.services.wizard import COLLECTION_KINDS, Draft
from kiebot.store.models import User

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="wizard")
    r.callback_query.register(on_step_button, StepCB.filter())
    r.callback_query.register(on_confirm_button, ConfirmCB.filter())
    r.message.register(on_answer, Wizard.form)
    return r


async def start_wizard(target: Message | CallbackQuery, state: FSMContext, model: ModelSpec, **ctx: Any) -> None:
    draft = Draft.start(model)
    await save_draft(state, draft)
    await show(target, screen_for(ctx["tr"], ctx["lang"], model, draft, ctx["user"], ctx["settings"].price_markup), edit=False)


async def open_confirmation(target: Message | CallbackQuery, state: FSMContext, model: ModelSpec, draft: Draft, **ctx: Any) -> None:
    await save_draft(state, draft)
    await show(target, screen_for(ctx["tr"], ctx["lang"], model, draft, ctx["user"], ctx["settings"].price_markup), edit=False)


async def _context(state: FSMContext, catalog: Catalog) -> tuple[Draft, ModelSpec] | None:
    draft = await load_draft(state)
    if draft is None:
        return None
    model = catalog.get(draft.model_id)
    if model is None:  # hidden by the operator since the form was started
        await state.clear()
        return None
    return draft, model


# --- buttons on a step --------------------------------------------------------------------------
async def on_step_button(
    query: CallbackQuery, callback_data: StepCB, state: FSMContext, catalog: Catalog,
    settings: Settings, user: User, lang: str, tr: Translate,
) -> None:
    found = await _context(state, catalog)
    if found is None or found[0].token != callback_data.token or found[0].at_confirmation:
        await query.answer(tr("stale-button"))
        return
    draft, model = found
    spec = draft.spec(model)
    assert spec is not None
    action, page = callback_data.action, 0
    if action == "cancel":
        await state.clear()
        await query.answer()
        await show(query, _plain(tr("wizard-cancelled")), edit=True)
        return
    if action == "page":
        page = callback_data.arg
    elif action == "back":
        if not draft.back(model):
            await state.clear()
            await query.answer()
            await show(query, model_card(tr, lang, catalog, model, settings.price_markup), edit=True)
            return
    elif action in ("pick", "yes", "no"):
        value = _picked_value(model, draft, spec, action, callback_data.arg)
        if value is _INVALID:
            await query.answer(tr("stale-button"))
            return
        draft.answer(model, value)
    elif action == "keep":
        draft.keep_default(model)
    elif action == "rest":
        draft.use_defaults_for_rest(model)
    elif action == "done":
        if spec.kind in COLLECTION_KINDS and draft.can_finish_collection(model):
            draft.finish_collection(model)
        elif spec.kind == FieldKind.OBJECTS:
            draft.items_done(model)
    elif action == "more":
        draft.start_item(model)
    elif action == "text-done":
        try:
            await _answer_text(query.message, draft, model, spec, "", tr, finish=True)  # type: ignore[arg-type]
        except form.AnswerError as exc:
            await query.answer(tr(exc.code, **_fluent_params(exc.params)), show_alert=True)
            await save_draft(state, draft)
            return
    await query.answer()
    await save_draft(state, draft)
    await show(query, screen_for(tr, lang, model, draft, user, settings.price_markup, page), edit=True)


_INVALID = object()


def _picked_value(model: ModelSpec, draft: Draft, spec: FieldSpec, action: str, index: int) -> Any:
    if action in ("yes", "no"):
        return action == "yes" if spec.kind == FieldKind.BOOL else _INVALID
    options = offered(model, draft, spec) if spec.kind == FieldKind.CHOICE else tuple(spec.presets)
    return options[index] if 0 <= index < len(options) else _INVALID


# --- typed answers and files --------------------------------------------------------------------
async def on_answer(
    message: Message, state: FSMContext, session: AsyncSession, catalog: Catalog, settings: Settings, bot: Bot,
    kie: Any, user: User, lang: str, tr: Translate,
) -> None:
    found = await _context(state, catalog)
    if found is None:
        await state.clear()
        await message.answer(tr("wizard-expired"))
        return
    draft, model = found
    spec = draft.spec(model)
    if spec is None:  # on the confirmation screen: nothing to type
        await message.answer(tr("confirm-use-buttons"))
        return
    if spec.kind in (FieldKind.FILE, FieldKind.FILES) or message.document is not None:
        await session.commit()  # hold no database lock while a file travels from Telegram to KIE
    try:
        moved = await _take_answer(message, draft, model, spec, bot, kie, tr)
    except form.AnswerError as exc:
        await message.answer(tr(exc.code, **_fluent_params(exc.params)) + "\n" + tr("try-again"))
        moved = True
    except media.FileTooLarge:
        await message.answer(tr("err-file-too-large"))
        moved = True
    except KieError as exc:
        log.warning("upload to KIE failed: %s", exc)
        await message.answer(tr("err-upload-failed"))
        moved = True
    await save_draft(state, draft)
    if moved:
        await show(message, screen_for(tr, lang, model, draft, user, settings.price_markup), edit=False)


async def _take_answer(
    message: Message, draft: Draft, model: ModelSpec, spec: FieldSpec, bot: Bot, kie: Any, tr: Translate
) -> bool:
    """Apply one message to the current step. Returns False when the reply was already sent
    (the draft is then saved by the caller all the same)."""
    kind = spec.kind
    if kind in (FieldKind.FILE, FieldKind.FILES):
        return await _take_file(message, draft, model, spec, bot, kie, tr)
    if kind == FieldKind.OBJECTS and draft.sub is None:
        raise form.AnswerError("err-use-buttons")
    text = message.text
    if text is None and kind == FieldKind.TEXT and message.document is not None:
        whole = await read_text_document(bot, message.document)  # a file is a whole text, never a part
        return await _answer_text(message, draft, model, spec, whole, tr, finish=True)
    if text is None:
        raise form.AnswerError("err-expected-text")
    if kind == FieldKind.TEXT:
        return await _answer_text(message, draft, model, spec, text, tr)
    value = form.parse_answer(spec, text)
    if kind == FieldKind.TEXTS:
        draft.add_item(model, value)
    else:
        draft.answer(model, value)
    return True


async def _answer_text(
    message: Message, draft: Draft, model: ModelSpec, spec: FieldSpec, text: str, tr: Translate, finish: bool = False
) -> bool:
    """Texts longer than one message arrive in parts: keep them until a short part or Done."""
    if not finish and (draft.partial_text or len(text) >= 4000):
        if not draft.append_text_part(text):
            done = InlineKeyboardMarkup(inline_keyboard=[[
                button(tr("btn-text-done"), StepCB(token=draft.token, action="text-done"))]])
            await message.answer(tr("text-part-received", chars=len(draft.partial_text)), reply_markup=done)
            return False  # the step screen is not repeated for every part
        text = ""
    full = draft.partial_text + text
    try:
        value = form.parse_answer(spec, full)
    finally:
        draft.partial_text = ""
    draft.answer(model, value)
    return True


async def _take_file(
    message: Message, draft: Draft, model: ModelSpec, spec: FieldSpec, bot: Bot, kie: Any, tr: Translate
) -> bool:
    incoming = incoming_file(message, spec.media)
    if incoming is None:
        raise form.AnswerError("err-expected-file", media=spec.media or "document")
    # The price of this model grows with this file's length, up to the cap the hold was computed for.
    cap = model.max_media_seconds
    if cap and draft.current == model.length_field and incoming.seconds and incoming.seconds > cap:
        raise form.AnswerError("err-media-too-long", seconds=int(incoming.seconds), max=cap)
    path = ".".join(draft.path())
    ref = await media.ingest(incoming, path, telegram_downloader(bot), kie)
    draft.files.append(ref)
    if spec.kind == FieldKind.FILE:
        draft.answer(model, ref["url"])
    else:
        draft.add_item(model, ref["url"])
    return True


def _fluent_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (int, str)) else str(v)) for k, v in params.items()}


# --- the confirmation screen -----------------------------------------------------------------
async def on_confirm_button(
    query: CallbackQuery, callback_data: ConfirmCB, state: FSMContext, catalog: Catalog, session: AsyncSession,
    settings: Settings, user: User, lang: str, tr: Translate, bot: Bot,
) -> None:
    found = await _context(state, catalog)
    if found is None or found[0].token != callback_data.token or not found[0].at_confirmation:
        await query.answer(tr("stale-button"))
        return
    draft, model = found
    action = callback_data.action
    if action == "go":
        await _confirm(query, state, session, model, draft, settings, user, lang, tr, bot)
        return
    await query.answer()
    if action == "cancel":
        await state.clear()
        await show(query, _plain(tr("wizard-cancelled")), edit=True)
        return
    page = 0
    if action == "edit" and 0 <= callback_data.arg < len(model.fields):
        draft.edit(model, model.fields[callback_data.arg].name)
    elif action == "back":
        draft.back(model)
    elif action == "page":
        page = callback_data.arg
    await save_draft(state, draft)
    await show(query, screen_for(tr, lang, model, draft, user, settings.price_markup, page), edit=True)


async def _confirm(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, model: ModelSpec, draft: Draft,
    settings: Settings, user: User, lang: str, tr: Translate, bot: Bot,
) -> None:
    assert query.message is not None
    result = await generation.start(
        session, model=model, draft=draft, user_id=user.id, chat_id=query.message.chat.id,
        language=lang, markup=settings.price_markup,
    )
    if result.duplicate:
        await query.answer(tr("already-started"))
        return
    if result.shortfall:
        await query.answer()
        await query.message.answer(tr("not-enough-balance", shortfall=result.shortfall, balance=user.balance))
        return
    if result.job is None:
        log.error("cannot start %s: %s", model.id, "; ".join(result.invalid))
        await query.answer(tr("cannot-start"), show_alert=True)
        return
    await query.answer(tr("started"))
    await state.clear()
    # The confirmation message becomes the generation's status message: one message less in the chat.
    await status.post_initial(query.message, session, result.job, model, tr, settings.max_active_per_user)


def _plain(text: str) -> Screen:
    return Screen(text, None)
