"""/history: recent generations, each can be repeated or edited and repeated."""
from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.bot.callbacks import HistoryCB, MenuCB
from kiebot.bot.handlers.wizard import open_confirmation
from kiebot.bot.i18n import Translate
from kiebot.bot.render import Screen, button
from kiebot.bot.screens import show
from kiebot.catalog import Catalog
from kiebot.config import Settings
from kiebot.services.wizard import Draft
from kiebot.store import jobs as job_repo
from kiebot.store.models import User

PAGE = 8


def router() -> Router:
    r = Router(name="history")
    r.message.register(on_history_command, Command("history"))
    r.callback_query.register(on_history_menu, MenuCB.filter(F.action == "history"))
    r.callback_query.register(on_history_button, HistoryCB.filter())
    return r


async def history_screen(session: AsyncSession, catalog: Catalog, user: User, tr: Translate, lang: str,
                         page: int = 0) -> Screen:
    jobs = await job_repo.recent_jobs(session, user.id, limit=PAGE + 1, offset=page * PAGE)
    more, jobs = len(jobs) > PAGE, jobs[:PAGE]
    if not jobs and page == 0:
        kb = [[button(tr("btn-generate"), MenuCB(action="cats"))]]
        return Screen(tr("history-empty"), InlineKeyboardMarkup(inline_keyboard=kb))
    lines, kb = [tr("history-title")], []
    for job in jobs:
        model = catalog.get(job.model_id)
        name = model.name(lang) if model else job.model_id
        when = job.created_at.strftime("%d.%m %H:%M") if job.created_at else ""
        lines.append(tr("history-line", job=job.id, model=html.escape(name), state=tr(f"state-{job.state}"),
                        price=job.charged if job.charged is not None else job.price, when=when))
        if model is not None:
            kb.append([button(tr("btn-repeat", job=job.id), HistoryCB(action="repeat", job_id=job.id)),
                       button(tr("btn-edit-repeat", job=job.id), HistoryCB(action="edit", job_id=job.id))])
    nav = []
    if page > 0:
        nav.append(button("◀", HistoryCB(action="page", job_id=page - 1)))
    if more:
        nav.append(button("▶", HistoryCB(action="page", job_id=page + 1)))
    if nav:
        kb.append(nav)
    kb.append([button(tr("btn-home"), MenuCB(action="home"))])
    return Screen("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=kb))


async def on_history_command(message: Message, session: AsyncSession, catalog: Catalog, user: User,
                             tr: Translate, lang: str) -> None:
    await show(message, await history_screen(session, catalog, user, tr, lang), edit=False)


async def on_history_menu(query: CallbackQuery, session: AsyncSession, catalog: Catalog, user: User,
                          tr: Translate, lang: str) -> None:
    await query.answer()
    await show(query, await history_screen(session, catalog, user, tr, lang), edit=True)


async def on_history_button(query: CallbackQuery, callback_data: HistoryCB, state: FSMContext, session: AsyncSession,
                            catalog: Catalog, settings: Settings, user: User, tr: Translate, lang: str) -> None:
    if callback_data.action == "page":
        await query.answer()
        await show(query, await history_screen(session, catalog, user, tr, lang, callback_data.job_id), edit=True)
        return
    job = await job_repo.get_job(session, callback_data.job_id)
    model = catalog.get(job.model_id) if job is not None and job.user_id == user.id else None
    if job is None or model is None:
        await query.answer(tr("model-gone"), show_alert=True)
        return
    await query.answer()
    draft = Draft.prefilled(model, job.values, job.files)
    ctx = dict(tr=tr, lang=lang, user=user, settings=settings)
    if callback_data.action == "edit" and model.fields:
        draft.edit(model, model.fields[0].name)
    await open_confirmation(query, state, model, draft, **ctx)
