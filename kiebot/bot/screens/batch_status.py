"""The one status message of a batch of variants: "2 of 4 ready" with progress, the failed ones named with
their reason, ✖ Cancel while every variant still waits in line."""
from __future__ import annotations

import html

from kiebot.bot.callbacks import JobAction, JobCB
from kiebot.bot.i18n import Translate
from kiebot.bot.screens.common import Screen, button
from kiebot.bot.screens.status import FAILURE_TEXTS, progress_bar
from kiebot.bot.screens.variants import variant_label
from kiebot.catalog import ModelSpec
from kiebot.services.batches import BatchView


def batch_text(tr: Translate, lang: str, batch: BatchView, model: ModelSpec | None,
               balance: int | None = None) -> str:
    common = dict(model=html.escape(model.name(lang) if model else batch.model_id), count=batch.size,
                  job=batch.variants[0].job_id, ready=batch.ready)
    failed = [tr("batch-variant-failed",
                 variant=html.escape(variant_label(tr, lang, model, batch.field, v.value, n + 1)),
                 reason=tr(FAILURE_TEXTS.get(v.error_code or "", "fail-generation")))
              for n, v in enumerate(batch.variants) if v in batch.failed]
    if batch.all_waiting:
        lines = [tr("batch-waiting", price=batch.held, **common)]
    elif not batch.ended:
        key = "batch-delivering" if batch.ready + len(failed) == batch.size else "batch-progress"
        lines = [tr(key, **common), tr("batch-bar", bar=progress_bar(batch.progress), percent=batch.progress)]
        lines += failed
    elif batch.ready == 0 and all(v.error_code == "cancelled" for v in batch.failed):
        lines = [tr("batch-cancelled", price=batch.released, **common)]
    elif batch.ready == 0:
        lines = [tr("batch-failed", price=batch.released, **common), *failed]
    else:
        lines = [tr("batch-done", charged=batch.charged, **common), *failed]
        if batch.released:
            lines.append(tr("batch-released", released=batch.released))
    if balance is not None:
        lines.append(tr("balance-after", balance=balance))
    return "\n".join(lines)


def batch_screen(tr: Translate, lang: str, batch: BatchView, model: ModelSpec | None,
                 balance: int | None = None, *, offered: bool = True) -> Screen:
    """The text with what can still be done: ✖ Cancel while every variant waits in line, and once the batch has
    ended 🔁 Try again for each variant that failed (its values on a new confirmation, while the model is
    `offered`). `model`: the batch's model even when it is no longer offered, for its name."""
    text = batch_text(tr, lang, batch, model, balance)
    if batch.all_waiting:
        cancel = JobCB(action=JobAction.CANCEL_BATCH, job_id=batch.batch_id)
        return Screen.of(text, [[button(tr("btn-cancel-job"), cancel)]])
    if not batch.ended or model is None or not offered:
        return Screen.of(text)
    retry = [[button(tr("btn-try-again-variant", variant=variant_label(tr, lang, model, batch.field, v.value, n + 1)),
                     JobCB(action=JobAction.RETRY, job_id=v.job_id))]
             for n, v in enumerate(batch.variants) if v in batch.failed and v.error_code not in ("cancelled",
                                                                                                  "unavailable")]
    return Screen.of(text, retry)
