"""The one status message per generation: its text for every state, and its first posting."""
from __future__ import annotations

import html

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.bot.i18n import Translate
from kiebot.bot.render import Screen
from kiebot.bot.screens import edit_text
from kiebot.catalog import ModelSpec
from kiebot.store import jobs as job_repo
from kiebot.store.models import Job, JobState

BAR_CELLS = 10


def progress_bar(percent: int) -> str:
    filled = max(0, min(BAR_CELLS, round(percent * BAR_CELLS / 100)))
    return "▰" * filled + "▱" * (BAR_CELLS - filled)


def status_text(tr: Translate, lang: str, job: Job, model: ModelSpec | None, ahead: int | None = None) -> str:
    """`ahead`: waiting jobs of the user before this one, when the user is at MAX_ACTIVE_PER_USER."""
    name = html.escape(model.name(lang) if model else job.model_id)
    state = job.state
    if state == JobState.WAITING:
        if ahead is None:
            return tr("status-accepted", model=name, job=job.id, price=job.price)
        return tr("status-waiting", model=name, ahead=ahead, job=job.id, price=job.price)
    if state == JobState.SUBMITTING:
        return tr("status-submitting", model=name, job=job.id)
    if state == JobState.RUNNING:
        if job.kie_state in ("waiting", "queuing"):
            return tr("status-queued", model=name, job=job.id)
        percent = job.progress or 0
        return tr("status-generating", model=name, job=job.id, bar=progress_bar(percent), percent=percent)
    if state == JobState.DELIVERING:
        return tr("status-delivering", model=name, job=job.id)
    if state == JobState.DONE:
        return tr("status-done", model=name, job=job.id, charged=job.charged or 0)
    reason = tr(f"fail-{job.error_code or 'generation'}")
    detail = html.escape((job.error_detail or "")[:300])
    text = tr("status-failed", model=name, job=job.id, reason=reason, price=job.price)
    return text + (f"\n<i>{detail}</i>" if detail else "")


async def post_initial(message: Message, session: AsyncSession, job: Job, model: ModelSpec, tr: Translate,
                       max_active: int) -> None:
    """Turn the confirmation message into the status message; the engine edits it from then on."""
    at_limit = await job_repo.count_active(session, job.user_id) >= max_active
    ahead = await job_repo.position_in_line(session, job) if at_limit else None
    text = status_text(tr, job.language, job, model, ahead)
    await edit_text(message, Screen(text, None))
    job.status_message_id = message.message_id
    job.status_text = text
