"""The one status message per generation: its text for every state of the job."""
from __future__ import annotations

import html
from dataclasses import dataclass

from kiebot.bot.callbacks import JobAction, JobCB
from kiebot.bot.i18n import Translate
from kiebot.bot.screens.common import Screen, button
from kiebot.bot.screens.next_steps import lyrics_row, step_rows
from kiebot.catalog import ModelSpec
from kiebot.services.next_steps import Step

BAR_CELLS = 10
# Why a job failed, as stored by the engine → the text the user reads. KIE's own error text is never shown.
FAILURE_TEXTS = {
    "generation": "fail-generation", "rejected": "fail-rejected", "service": "fail-service",
    "timeout": "fail-timeout", "file": "fail-file", "interrupted": "fail-interrupted",
    "unavailable": "fail-unavailable", "policy": "fail-policy", "cancelled": "fail-cancelled",
    "undelivered": "fail-undelivered",
}


@dataclass(frozen=True)
class JobStatus:
    """What the status message shows of a job."""

    job_id: int
    model_id: str
    state: str  # a JobState value
    price: int
    charged: int | None = None
    kie_state: str | None = None
    progress: int | None = None
    error_code: str | None = None
    ahead: int | None = None  # waiting jobs of the user before this one, when the user is at their limit
    free: bool = False  # run with a free try: nothing held, nothing charged
    balance: int | None = None  # the user's balance once the job is settled, to say what remains
    next_steps: tuple[Step, ...] = ()  # once done: what can be done with the result (services.next_steps)
    lyrics: bool = False  # once done: its result's tracks carry lyrics (📝 Lyrics)


def progress_bar(percent: int) -> str:
    filled = max(0, min(BAR_CELLS, round(percent * BAR_CELLS / 100)))
    return "▰" * filled + "▱" * (BAR_CELLS - filled)


def status_text(tr: Translate, lang: str, job: JobStatus, model: ModelSpec | None) -> str:
    name = html.escape(model.name(lang) if model else job.model_id)
    common = dict(model=name, job=job.job_id)
    if job.state == "waiting":
        if job.ahead is None:
            return tr("status-accepted", price=job.price, **common)
        return tr("status-waiting", ahead=job.ahead, price=job.price, **common)
    if job.state == "submitting":
        return tr("status-submitting", **common)
    if job.state == "running":
        if job.kie_state in ("waiting", "queuing"):
            return tr("status-queued", **common)
        percent = job.progress or 0
        return tr("status-generating", bar=progress_bar(percent), percent=percent, **common)
    if job.state == "delivering":
        return tr("status-delivering", **common)
    if job.state == "done":
        text = tr("status-done-free", **common) if job.free else tr("status-done", charged=job.charged or 0, **common)
    else:
        reason = tr(FAILURE_TEXTS.get(job.error_code or "", "fail-generation"))
        key = "status-failed-free" if job.free else "status-failed"
        text = tr(key, reason=reason, price=job.price, **common)
    return text if job.balance is None else text + "\n" + tr("balance-after", balance=job.balance)


def status_screen(tr: Translate, lang: str, job: JobStatus, model: ModelSpec | None, *,
                  offered: bool = True) -> Screen:
    """The status text with what can still be done: ✖ Cancel while the job waits in the bot's line (it has not
    reached KIE, so nothing is spent), 🔁 Try again after a failure (while the model is `offered`), the next steps
    (🎬 Animate, 🔍 Upscale…) and 📝 Lyrics (a song's) once the result was delivered. `model`: the job's model even
    when it is no longer offered (hidden or disabled since), for its name."""
    text = status_text(tr, lang, job, model)
    if job.state == "waiting":
        return Screen.of(text, [[button(tr("btn-cancel-job"), JobCB(action=JobAction.CANCEL, job_id=job.job_id))]])
    if job.state == "failed" and model is not None and offered and job.error_code != "unavailable":
        return Screen.of(text, [[button(tr("btn-try-again"), JobCB(action=JobAction.RETRY, job_id=job.job_id))]])
    if job.state == "done" and (job.next_steps or job.lyrics):
        lyrics = lyrics_row(tr, job.job_id) if job.lyrics else []
        return Screen.of(text, step_rows(tr, job.job_id, job.next_steps) + lyrics)
    return Screen.of(text)
