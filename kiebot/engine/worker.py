"""The job worker: claims due jobs from the database and moves each one step along its lifecycle.

Everything it knows lives in the job row, so a restart (or another replica) picks up where it stopped: a job KIE
accepted is polled again and delivered; a job caught in `submitting` never told us its task, so its hold is
released (should KIE have made the task after all, its callback reveals it: engine/callbacks.py).

Every write that matters is guarded: by this worker's lease (renewed by `leases.Heartbeat` while a step runs) and
by the state the step expects, so a worker that lost a job, or a job the user cancelled, changes nothing. The KIE
task id is the exception: it is guarded by the job's own state (`store.jobs.attach_task`). No database session is
open while KIE or Telegram is called.
"""
from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, literal
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.catalog import Catalog, ModelSpec, form, pricing
from kiebot.clock import utcnow
from kiebot.config import Settings
from kiebot.engine import albums, schedule
from kiebot.engine.alerts import Alerts
from kiebot.engine.callbacks import CallbackInbox
from kiebot.engine.leases import Heartbeat
from kiebot.engine.outputs import measure_outputs
from kiebot.engine.pause import CreditsPause, MemoryPause
from kiebot.engine.ports import Kie, Notifier, RecipientGone
from kiebot.engine.submit_order import SubmitOrder
from kiebot.kie import errors as kie_errors
from kiebot.kie.client import before_send
from kiebot.kie.ratelimit import in_line
from kiebot.kie.records import TaskRecord
from kiebot.logs import Masker, bind, bound, secrets_of
from kiebot.services.media import media_facts, refresh_expired
from kiebot.store import jobs as job_repo
from kiebot.store.models import Job, JobState
from kiebot.store.models_status import disable_model, disabled_models

log = logging.getLogger(__name__)
BATCH = 50  # jobs advanced at once by one worker
# `kie_state` of a `submitting` job whose createTask has certainly not been sent yet (its status is being shown, its
# input files refreshed). Cleared in the last write before createTask: a job found `submitting` with it after a crash
# is started again; without it, KIE may have made the task, so the job is failed and released.
UNSENT = "unsent"



class Engine:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        kie: Kie,
        catalog: Catalog,
        notifier: Notifier,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        models_changed: Callable[[], Awaitable[None]] | None = None,
        pause: CreditsPause | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        # Called after a model was disabled, so what the bot offers (read through a cache) changes at once.
        self.models_changed = models_changed
        self.kie = kie
        self.catalog = catalog
        self.notifier = notifier
        self.settings = settings
        self.clock = clock
        self.owner = f"worker-{uuid.uuid4().hex[:12]}"
        self.speedup = settings.kie_poll_speedup
        self.mask = Masker(secrets_of(settings))  # KIE's error texts are stored: never with a secret quoted in them
        self.lease_seconds = settings.job_lease_seconds
        self.heartbeat = Heartbeat(sessionmaker, self.owner, self.lease_seconds, clock)
        self.alerts = Alerts(sessionmaker, notifier, clock)
        self.callbacks = CallbackInbox(sessionmaker, kie, self.alerts, clock, self.wake, self._api_of)
        # With callbacks on, polling is only their fallback and runs slowly (App turns this off when its web
        # server could not start).
        self.callbacks_expected = settings.callback_url is not None
        self._wake = asyncio.Event()
        # Set when KIE says the account is out of credits: new submissions wait instead of failing one by one
        # (in Redis when replicas share it).
        self.pause = pause or MemoryPause()
        self.submit_order = SubmitOrder()  # claimed waiting jobs reach KIE's createTask line in the claim's order

    # --- the loop ------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Claim due jobs and advance each in its own task, so one slow step (a delivery, a status edit
        waiting for its turn) never holds up the others. On stop, the steps under way finish."""
        log.info("job worker %s started", self.owner)
        heartbeat = asyncio.create_task(self.heartbeat.run(), name="job-leases")
        running: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                try:
                    for job in await self._claim(BATCH - len(running)):
                        task = asyncio.create_task(self._advance_safely(job), name=f"job-{job.id}")
                        running.add(task)
                        task.add_done_callback(running.discard)
                except Exception:
                    log.exception("job worker could not claim jobs")
                await self._nap(stop)
            if running:
                await asyncio.wait(running)
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
        log.info("job worker %s stopped", self.owner)

    def _api_of(self, model_id: str) -> dict[str, Any] | None:
        model = self.catalog.known(model_id)
        return model.api if model is not None and model.api else None

    def wake(self) -> None:
        """Look for due jobs now (a callback made one due) instead of at the next WORKER_INTERVAL."""
        self._wake.set()

    async def _nap(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=self.settings.worker_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        self._wake.clear()

    async def tick(self) -> int:
        """One pass: claim the due jobs and advance each one a step; returns how many were handled."""
        jobs = await self._claim(BATCH)
        await asyncio.gather(*(self._advance_safely(job) for job in jobs))
        return len(jobs)

    async def _claim(self, limit: int) -> list[Job]:
        if limit <= 0:
            return []
        slots: dict[int, int] = {}
        async with self.sessionmaker() as session:
            jobs = await job_repo.claim_due(
                session, self.owner, self.clock(), self.lease_seconds, limit, self.settings.max_active_per_user,
                slots=slots,
            )
            await session.commit()
        for job in jobs:
            self.heartbeat.hold(job.id)
            if job.id in slots:
                self.submit_order.expect(job.id, slots[job.id])
        return jobs

    async def _advance_safely(self, job: Job) -> None:
        try:
            with bound(job=job.id, user=job.user_id, model=job.model_id, task=job.kie_task_id):
                await self.advance(job)
        except Exception:
            log.exception("job %s: step failed; it will be retried", job.id)
            await self._save(job, next_check_at=self.clock() + schedule.backoff(job.attempts + 1, self.speedup))
        finally:
            self.heartbeat.drop(job.id)
            self.submit_order.leave(job.id)
            async with self.sessionmaker() as session:
                await job_repo.release_lease(session, job.id, self.owner)
                await session.commit()

    async def advance(self, job: Job) -> None:
        # `known`, not `get`: a model hidden after this job was confirmed still finishes it.
        model = self.catalog.known(job.model_id)
        if job.state == JobState.SUBMITTING and job.kie_state == UNSENT:  # its worker died before createTask
            if await self._save(job, when_state=JobState.SUBMITTING, state=JobState.WAITING, kie_state=None):
                await self._start(job, model)
        elif job.state == JobState.SUBMITTING:  # its worker died mid-createTask: we never learned of a task
            await self._fail(job, "interrupted", only_from=(JobState.SUBMITTING,))
        elif job.state == JobState.WAITING:
            await self._start(job, model)
        elif job.state == JobState.RUNNING:
            await self._poll(job, model)
        elif job.state == JobState.DELIVERING:
            await self._deliver(job, model)

    # --- submit ----------------------------------------------------------------------------------
    async def _start(self, job: Job, model: ModelSpec | None) -> None:
        if model is None or await self._disabled(model.id):  # KIE switched it off after this job was confirmed
            await self._fail(job, "unavailable", only_from=(JobState.WAITING,))
            return
        paused_until = await self.pause.until()
        if paused_until and self.clock() < paused_until:
            await self._save(job, when_state=JobState.WAITING, next_check_at=paused_until)
            return
        if not await self._save(job, when_state=JobState.WAITING, state=JobState.SUBMITTING,
                                submitted_at=self.clock(), kie_state=UNSENT):
            return  # cancelled by the user, or the lease is gone
        # The status goes out while the job heads for KIE: waiting for a Telegram turn (paced per chat) first would
        # let the jobs of one claim reach the createTask limiter in any order, and the first to come take its free
        # places. Every later step that shows the status waits for this one (one status message per job).
        showing = asyncio.create_task(self._show(job))
        try:
            try:
                submitted = await self._submit(job, model)
                # The task id is stored at once: a callback may come before the first status has gone out.
                stored = await self._store_task(job, model, *submitted) if submitted is not None else None
            finally:
                await showing
        except RecipientGone:  # an input file Telegram no longer has
            await self._fail(job, "interrupted", only_from=(JobState.SUBMITTING,))
        except _UploadFailed as failed:  # an upload: sending it again cannot make a task
            await self._submit_failed(job, failed.error, may_resend=failed.error.retryable)
        except kie_errors.KieError as exc:
            await self._submit_failed(job, exc, may_resend=kie_errors.create_may_be_resent(exc))
        else:
            if stored == "attached":
                await self._show(job)
            elif stored == "orphan" and submitted is not None:  # failed by a takeover while createTask was under way
                await self.alerts.orphan_task(submitted[0], job.id, job.user_id, job.model_id)

    async def _submit(self, job: Job, model: ModelSpec) -> tuple[str, dict[str, Any], list[Any]] | None:
        """createTask, in the job's place in line: (task id, values, files), or None when the lease is gone."""
        try:
            values, files = await refresh_expired(
                job.values, job.files, self.settings.upload_ttl_hours, self.notifier.download, self.kie
            )
        except kie_errors.KieError as exc:
            raise _UploadFailed(exc) from exc
        async def mark_sending() -> None:  # from here on a crash may leave a task at KIE: no second createTask
            if not await self._save(job, when_state=JobState.SUBMITTING, kie_state=None):
                raise _LeaseLost  # another worker has the job: this call is not sent

        # Claimed jobs wait for KIE's createTask limit in the claim's fair order: by slot, then age (store/jobs.py).
        await self.submit_order.turn(job.id)
        try:
            with in_line(self.submit_order.place(job.id)), before_send(mark_sending):
                self.submit_order.leave(job.id)  # the next job goes on once this one waits in KIE's line
                task_id = await self.kie.create_task(
                    model.id, form.build_input(model, values), self.settings.callback_url_for(job.id), api=model.api
                )
        except _LeaseLost:
            return None
        bind(task=task_id)
        log.info("job %s: KIE created task %s for %s", job.id, task_id, model.id)  # before anything else can fail
        return task_id, values, files

    async def _store_task(self, job: Job, model: ModelSpec, task_id: str, values: dict[str, Any],
                          files: list[Any]) -> str | None:
        """Store the task id under the job's state guard: "attached", or "orphan" when the job moved on meanwhile
        (the task is then KIE's alone, and reported), or None (noted before)."""
        async with self.sessionmaker() as session:
            attached = await job_repo.attach_task(
                session, job.id, task_id, values=values, files=files, kie_state="waiting", progress=0,
                next_check_at=self.clock() + self._poll_interval(0, model),
            )
            noted = not attached and await job_repo.note_orphan_task(session, job.id, task_id)
            fresh = await job_repo.get_job(session, job.id)
            await session.commit()
        assert fresh is not None
        _copy(fresh, job)
        if attached:
            return "attached"
        return "orphan" if noted or fresh.kie_task_id != task_id else None

    async def _submit_failed(self, job: Job, exc: kie_errors.KieError, *, may_resend: bool) -> None:
        log.warning("job %s: submission failed: %s", job.id, exc)
        await self._alert_for(job, exc)
        if may_resend and job.attempts < schedule.SUBMIT_RETRIES:
            attempts = job.attempts + 1
            if await self._save(job, when_state=JobState.SUBMITTING, state=JobState.WAITING, attempts=attempts,
                                next_check_at=self.clock() + schedule.backoff(attempts, self.speedup)):
                await self._show(job)
            return
        await self._fail(job, _reason(exc), _user_detail(exc), only_from=(JobState.SUBMITTING,))

    async def _alert_for(self, job: Job, exc: kie_errors.KieError) -> None:
        if isinstance(exc, kie_errors.KieInsufficientCredits):
            await self.pause.pause(self.clock() + schedule.backoff(6, self.speedup))
            await self.alerts.kie_code(exc.code, "alert-kie-credits")
        elif isinstance(exc, kie_errors.KieFeatureDisabled):
            async with self.sessionmaker() as session:
                await disable_model(session, job.model_id, exc.message or "feature disabled")
                await session.commit()
            if self.models_changed is not None:
                await self.models_changed()
            await self.alerts.kie_code(exc.code, "alert-model-disabled", scope=job.model_id, model=job.model_id)
        elif isinstance(exc, kie_errors.KieQuota):
            await self.alerts.kie_code(exc.code, "alert-kie-quota")
        elif exc.operator_alert:
            await self.alerts.kie_code(exc.code, "alert-kie-auth", code=exc.code)

    async def _disabled(self, model_id: str) -> bool:
        async with self.sessionmaker() as session:
            return model_id in await disabled_models(session)

    # --- poll ------------------------------------------------------------------------------------
    async def _poll(self, job: Job, model: ModelSpec | None) -> None:
        elapsed = (self.clock() - (job.submitted_at or job.created_at)).total_seconds()
        if elapsed > schedule.timeout_for(model.category if model else "", self.speedup):
            await self._fail(job, "timeout", only_from=(JobState.RUNNING,))
            return
        assert job.kie_task_id is not None
        try:
            record: TaskRecord | None = await self.kie.record_info(job.kie_task_id, api=model.api if model else None)
        except kie_errors.KieRecordPending:
            record = None  # normal right after createTask
        except kie_errors.KieError as exc:
            log.warning("job %s: recordInfo failed: %s", job.id, exc)
            if exc.operator_alert:
                await self.alerts.kie_code(exc.code, "alert-kie-polling", code=exc.code)
            await self._save(job, when_state=JobState.RUNNING,
                             next_check_at=_unless_hinted(job, self.clock() + schedule.backoff(2, self.speedup)))
            return
        if record is not None and record.succeeded:
            await self._succeeded(job, model, record)
        elif record is not None and record.failed:
            await self._fail(job, failure_reason(record.fail_msg), record.fail_msg or record.fail_code,
                             only_from=(JobState.RUNNING,))
        else:
            await self._still_running(job, model, record, elapsed)

    async def _still_running(self, job: Job, model: ModelSpec | None, record: TaskRecord | None,
                             elapsed: float) -> None:
        progress = record.progress if record is not None and record.progress is not None else (
            schedule.estimated_progress(elapsed * self.speedup, model.typical_seconds if model else 0))
        next_check = _unless_hinted(job, self.clock() + self._poll_interval(elapsed, model))
        if await self._save(job, when_state=JobState.RUNNING, kie_state=record.state if record else "waiting",
                            progress=progress, next_check_at=next_check):
            await self._show(job)

    async def _succeeded(self, job: Job, model: ModelSpec | None, record: TaskRecord) -> None:
        if not record.result_urls and not record.text:  # `success` with nothing readable: nothing to deliver
            log.warning("job %s: KIE task %s succeeded without a readable result", job.id, job.kie_task_id)
            await self._fail(job, "generation", only_from=(JobState.RUNNING,))
            return
        if await self._save(job, when_state=JobState.RUNNING, state=JobState.DELIVERING, kie_state="success",
                            progress=100, result=result_of(record, model), delivering_since=self.clock(),
                            delivery_attempts=0, next_check_at=self.clock()):
            await self._deliver(job, model)

    def _poll_interval(self, elapsed: float, model: ModelSpec | None) -> timedelta:
        if self.callbacks_expected:
            return schedule.fallback_interval(model.typical_seconds if model else 0, self.speedup)
        return schedule.poll_interval(elapsed * self.speedup, self.speedup)

    # --- deliver and settle ----------------------------------------------------------------------
    async def _deliver(self, job: Job, model: ModelSpec | None) -> None:
        """Send the result; charge only once it reached the user. A send that fails leaves it pending."""
        if job.batch_id is not None:  # a variant: its result goes out in its batch's album
            await albums.deliver(self, job, model)
            return
        urls = list((job.result or {}).get("urls") or [])
        if not urls and not (job.result or {}).get("text"):
            await self._fail(job, "generation", only_from=(JobState.DELIVERING,))
            return
        if self.heartbeat.lost(job.id):  # another worker has the job now: it sends, not us
            return
        try:
            delivered = await self.notifier.deliver(job, urls)
        except RecipientGone:
            # The user blocked the bot: nothing reached them, so nothing is charged (no charge without a delivered
            # result); the hold goes back to their balance.
            log.warning("job %s: user %s blocked the bot; not delivered, hold released", job.id, job.user_id)
            await self._fail(job, "undelivered", only_from=(JobState.DELIVERING,))
            return
        except Exception as exc:
            await self._delivery_failed(job, exc)
            return
        charged = await self._actual_price(job, model, urls)
        async with self.sessionmaker() as session:
            fresh = await job_repo.get_job(session, job.id)
            assert fresh is not None
            fresh.delivered = delivered
            settled = await job_repo.finish_job(session, fresh, charged=charged, owner=self.owner,
                                                only_from=(JobState.DELIVERING,))
            await session.commit()
        _copy(fresh, job)
        if settled:
            await self._show(job, final=True)

    async def _delivery_failed(self, job: Job, exc: Exception) -> None:
        attempts = job.delivery_attempts + 1
        since = job.delivering_since or self.clock()  # None: a row from before delivery attempts were counted
        pending = self.clock() - since
        if pending >= schedule.DELIVERY_PATIENCE:
            log.error("job %s: result not delivered after %s attempts over %s; released", job.id, attempts, pending)
            await self._fail(job, "undelivered", only_from=(JobState.DELIVERING,))
            return
        wait = schedule.delivery_backoff(attempts, self.speedup)
        log.warning("job %s: delivery attempt %s failed (%s: %s); result kept, next try in %s",
                    job.id, attempts, type(exc).__name__, exc, wait)
        await self._save(job, when_state=JobState.DELIVERING, delivery_attempts=attempts, delivering_since=since,
                         next_check_at=self.clock() + wait)

    async def _actual_price(self, job: Job, model: ModelSpec | None, urls: list[str]) -> int:
        """The price shown, or less when it depended on the output (megapixels, output size)."""
        if model is None:
            return job.price
        facts = media_facts(job.files)
        quote = pricing.quote(model, job.values, facts)
        if quote is None or quote.exact:
            return job.price
        outputs = await measure_outputs(urls)
        credits = pricing.actual_credits(model, job.values, facts, outputs)
        return min(job.price, pricing.user_price(Decimal(credits), self.settings.price_markup))

    # --- bookkeeping ---------------------------------------------------------------------------
    async def _fail(self, job: Job, reason: str, detail: str | None = None, *,
                    only_from: tuple[JobState, ...]) -> None:
        """Fail and release, if this worker still holds the job and it is in one of `only_from`."""
        async with self.sessionmaker() as session:
            fresh = await job_repo.get_job(session, job.id)
            assert fresh is not None
            failed = await job_repo.fail_job(session, fresh, error_code=reason,
                                             error_detail=self.mask(detail) if detail else None,
                                             owner=self.owner, only_from=only_from)
            await session.commit()
        _copy(fresh, job)
        if failed:
            await self._show(job, final=True)
            await albums.wake_siblings(self, job)

    async def _save(self, job: Job, *, when_state: JobState | None = None, **fields: Any) -> bool:
        """Write `fields` if this worker still holds the job (and it is in `when_state`). False: stop the step."""
        async with self.sessionmaker() as session:
            saved = await job_repo.update_job(session, job.id, self.owner, when_state=when_state, **fields)
            await session.commit()
        if saved:
            for name, value in fields.items():
                if not isinstance(value, ColumnElement):  # an SQL expression: its value is in the row only
                    setattr(job, name, value)
        else:
            log.info("job %s: not ours any more or moved on; step stopped", job.id)
        return saved

    async def _show(self, job: Job, *, final: bool = False) -> None:
        """The status message is a courtesy: a Telegram failure must not fail or repeat a step."""
        try:
            await self.notifier.show_status(job, final=final)
        except Exception as exc:
            log.warning("job %s: could not show its status: %s: %s", job.id, type(exc).__name__, exc)


def result_of(record: TaskRecord, model: ModelSpec | None) -> dict[str, Any]:
    """The job's `result`: `urls` and `media`, plus per-output `items` (Suno tracks) and a `text` when KIE gave them."""
    result: dict[str, Any] = {"urls": record.result_urls,
                              "media": (model.category if model else None) if record.result_urls else "text"}
    if record.items:
        result["items"] = record.items
    if record.text:
        result["text"] = record.text
    return result


def _unless_hinted(job: Job, at: datetime) -> ColumnElement[datetime]:
    """`next_check_at = at`, unless a callback made the job due while this step was polling (the row's time is no
    longer the one claimed): then it stays due, and the hint is not lost."""
    return case((Job.next_check_at == job.next_check_at, literal(at, Job.next_check_at.type)),
                else_=Job.next_check_at)


class _LeaseLost(Exception):
    """The job's lease was lost while its createTask waited in line: the call is not sent."""


class _UploadFailed(Exception):
    """Uploading an input file to KIE failed (`error`): unlike a failed createTask, no task can have been made."""

    def __init__(self, error: kie_errors.KieError) -> None:
        super().__init__(str(error))
        self.error = error


def _copy(source: Job, target: Job) -> None:
    for column in Job.__table__.columns.keys():
        setattr(target, column, getattr(source, column))


# KIE's words for a refusal on content grounds; the user is told that, not the raw text.
CONTENT_REFUSAL = re.compile(r"policy|nsfw|safety|sensitive|moderat|prohibit|violat|inappropriate", re.IGNORECASE)


def failure_reason(fail_msg: str | None) -> str:
    """Why a task failed at KIE, as a reason the status message explains (fail-<reason>)."""
    return "policy" if fail_msg and CONTENT_REFUSAL.search(fail_msg) else "generation"


def _reason(exc: kie_errors.KieError) -> str:
    """The user-facing failure reason (a Fluent id suffix: fail-<reason>)."""
    if isinstance(exc, kie_errors.KieValidation):
        return "rejected"
    if isinstance(exc, kie_errors.KieFileFetch):
        return "file"
    if isinstance(exc, kie_errors.KieGenerationFailed):
        return "generation"
    if isinstance(exc, kie_errors.KieFeatureDisabled):  # the model is disabled for good: "try later" would mislead
        return "unavailable"
    return "service"


def _user_detail(exc: kie_errors.KieError) -> str | None:
    """KIE's own words are shown only where they help the user fix the input."""
    return exc.message if isinstance(exc, (kie_errors.KieValidation, kie_errors.KieFileFetch)) else None
