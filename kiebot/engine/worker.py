"""The job worker: claims due jobs from the database and moves each one step along its lifecycle.

Everything it knows lives in the job row, so a restart (or another replica) picks up where it stopped:
a job KIE accepted is polled again and delivered; a job caught in `submitting` never reached KIE
as far as we can tell, so its hold is released.
"""
from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.catalog import Catalog, ModelSpec, form, pricing
from kiebot.config import Settings
from kiebot.engine import schedule
from kiebot.engine.outputs import measure_outputs
from kiebot.engine.ports import Kie, Notifier, RecipientGone
from kiebot.kie import errors as kie_errors
from kiebot.services.media import media_facts, refresh_expired
from kiebot.store import jobs as job_repo
from kiebot.store.models import Job, JobState
from kiebot.store.models_status import disable_model, disabled_models

log = logging.getLogger(__name__)
LEASE_SECONDS = 300
BATCH = 50  # jobs advanced at once by one worker


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    ) -> None:
        self.sessionmaker = sessionmaker
        self.kie = kie
        self.catalog = catalog
        self.notifier = notifier
        self.settings = settings
        self.clock = clock
        self.owner = f"worker-{uuid.uuid4().hex[:12]}"
        self.speedup = settings.kie_poll_speedup
        # Set when KIE says the account is out of credits: new submissions wait instead of failing one by one.
        self.paused_until: datetime | None = None

    # --- the loop ------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Claim due jobs and advance each in its own task, so one slow step (a delivery, a status edit
        waiting for its turn) never holds up the others. On stop, the steps under way finish."""
        log.info("job worker %s started", self.owner)
        running: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            try:
                for job in await self._claim(BATCH - len(running)):
                    task = asyncio.create_task(self._advance_safely(job), name=f"job-{job.id}")
                    running.add(task)
                    task.add_done_callback(running.discard)
            except Exception:
                log.exception("job worker could not claim jobs")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.worker_interval)
            except TimeoutError:
                pass
        if running:
            await asyncio.wait(running)
        log.info("job worker %s stopped", self.owner)

    async def tick(self) -> int:
        """One pass: claim the due jobs and advance each one a step; returns how many were handled."""
        jobs = await self._claim(BATCH)
        await asyncio.gather(*(self._advance_safely(job) for job in jobs))
        return len(jobs)

    async def _claim(self, limit: int) -> list[Job]:
        if limit <= 0:
            return []
        async with self.sessionmaker() as session:
            jobs = await job_repo.claim_due(
                session, self.owner, self.clock(), LEASE_SECONDS, limit, self.settings.max_active_per_user
            )
            await session.commit()
        return jobs

    async def _advance_safely(self, job: Job) -> None:
        try:
            await self.advance(job)
        except Exception:
            log.exception("job %s: step failed; it will be retried", job.id)
            await self._save(job, next_check_at=self.clock() + schedule.backoff(job.attempts + 1, self.speedup))
        finally:
            async with self.sessionmaker() as session:
                await job_repo.release_lease(session, job.id, self.owner)
                await session.commit()

    async def advance(self, job: Job) -> None:
        model = self.catalog.get(job.model_id)
        if job.state == JobState.SUBMITTING:  # we died mid-createTask: assume it never reached KIE
            await self._fail(job, "interrupted")
        elif model is None:
            await self._fail(job, "unavailable")
        elif job.state == JobState.WAITING and self.paused_until and self.clock() < self.paused_until:
            await self._save(job, next_check_at=self.paused_until)
        elif job.state == JobState.WAITING:
            await self._submit(job, model)
        elif job.state == JobState.RUNNING:
            await self._poll(job, model)
        elif job.state == JobState.DELIVERING:
            await self._deliver(job, model)

    # --- steps -----------------------------------------------------------------------------------
    async def _submit(self, job: Job, model: ModelSpec) -> None:
        async with self.sessionmaker() as session:
            disabled = model.id in await disabled_models(session)
        if disabled:  # KIE switched it off after this job was confirmed
            await self._fail(job, "unavailable")
            return
        await self._save(job, state=JobState.SUBMITTING, submitted_at=self.clock())
        await self.notifier.show_status(job)
        try:
            values, files = await refresh_expired(
                job.values, job.files, self.settings.upload_ttl_hours, self.notifier.download, self.kie
            )
            task_id = await self.kie.create_task(
                model.id, form.build_input(model, values), self.settings.callback_url
            )
        except kie_errors.KieError as exc:
            await self._submit_failed(job, exc)
            return
        except RecipientGone:
            await self._fail(job, "interrupted")
            return
        await self._save(
            job, state=JobState.RUNNING, kie_task_id=task_id, values=values, files=files, kie_state="waiting",
            progress=0, next_check_at=self.clock() + schedule.poll_interval(0, self.speedup),
        )
        log.info("job %s: KIE task %s created for %s", job.id, task_id, model.id)
        await self.notifier.show_status(job)

    async def _submit_failed(self, job: Job, exc: kie_errors.KieError) -> None:
        log.warning("job %s: createTask failed: %s", job.id, exc)
        if isinstance(exc, kie_errors.KieInsufficientCredits):
            self.paused_until = self.clock() + schedule.backoff(6, self.speedup)
            await self.notifier.alert_operators("alert-kie-credits")
        elif isinstance(exc, kie_errors.KieFeatureDisabled):
            async with self.sessionmaker() as session:
                await disable_model(session, job.model_id, exc.message or "feature disabled")
                await session.commit()
            await self.notifier.alert_operators("alert-model-disabled", model=job.model_id)
        elif exc.operator_alert:
            await self.notifier.alert_operators("alert-kie-auth", code=exc.code)
        ambiguous = getattr(exc, "ambiguous", False)
        if exc.retryable and not ambiguous and job.attempts < schedule.SUBMIT_RETRIES:
            attempts = job.attempts + 1
            await self._save(job, state=JobState.WAITING, attempts=attempts,
                             next_check_at=self.clock() + schedule.backoff(attempts, self.speedup))
            await self.notifier.show_status(job)
            return
        await self._fail(job, _reason(exc), _user_detail(exc))

    async def _poll(self, job: Job, model: ModelSpec) -> None:
        elapsed = (self.clock() - _aware(job.submitted_at or job.created_at)).total_seconds()
        if elapsed > schedule.timeout_for(model.category, self.speedup):
            await self._fail(job, "timeout")
            return
        try:
            record = await self.kie.record_info(job.kie_task_id)
        except kie_errors.KieRecordPending:
            record = None  # normal right after createTask
        except kie_errors.KieError as exc:
            log.warning("job %s: recordInfo failed: %s", job.id, exc)
            if exc.operator_alert:
                await self.notifier.alert_operators("alert-kie-polling", code=exc.code)
            await self._save(job, next_check_at=self.clock() + schedule.backoff(2, self.speedup))
            return
        if record is not None and record.state == "success":
            await self._save(job, state=JobState.DELIVERING, kie_state="success", progress=100,
                             result={"urls": record.result_urls}, next_check_at=self.clock())
            await self._deliver(job, model)
            return
        if record is not None and record.state in ("fail", "failed"):
            await self._fail(job, failure_reason(record.fail_msg), record.fail_msg or record.fail_code)
            return
        progress = record.progress if record is not None and record.progress is not None else (
            schedule.estimated_progress(elapsed * self.speedup, model.typical_seconds))
        await self._save(job, kie_state=record.state if record else "waiting", progress=progress,
                         next_check_at=self.clock() + schedule.poll_interval(elapsed * self.speedup, self.speedup))
        await self.notifier.show_status(job)

    async def _deliver(self, job: Job, model: ModelSpec) -> None:
        urls = list((job.result or {}).get("urls") or [])
        try:
            delivered = await self.notifier.deliver(job, urls)
        except RecipientGone:
            log.warning("job %s: user %s blocked the bot; result kept, job settled", job.id, job.user_id)
            delivered = []
        except Exception:
            if job.attempts >= schedule.DELIVERY_RETRIES:
                log.exception("job %s: giving up delivery after %s attempts; settling", job.id, job.attempts)
                delivered = []
            else:
                log.exception("job %s: delivery failed; will retry", job.id)
                await self._save(job, attempts=job.attempts + 1,
                                 next_check_at=self.clock() + schedule.backoff(job.attempts + 1, self.speedup))
                return
        charged = await self._actual_price(job, model, urls)
        async with self.sessionmaker() as session:
            fresh = await job_repo.get_job(session, job.id)
            assert fresh is not None
            fresh.delivered = delivered
            await job_repo.finish_job(session, fresh, charged=charged)
            await session.commit()
        _copy(fresh, job)
        await self.notifier.show_status(job, final=True)

    async def _actual_price(self, job: Job, model: ModelSpec, urls: list[str]) -> int:
        """The price shown, or less when it depended on the output (megapixels, output size)."""
        facts = media_facts(job.files)
        quote = pricing.quote(model, job.values, facts)
        if quote is None or quote.exact:
            return job.price
        outputs = await measure_outputs(urls)
        credits = pricing.actual_credits(model, job.values, facts, outputs)
        return min(job.price, pricing.user_price(Decimal(credits), self.settings.price_markup))

    # --- bookkeeping ---------------------------------------------------------------------------
    async def _fail(self, job: Job, reason: str, detail: str | None = None) -> None:
        async with self.sessionmaker() as session:
            fresh = await job_repo.get_job(session, job.id)
            assert fresh is not None
            await job_repo.fail_job(session, fresh, error_code=reason, error_detail=detail)
            await session.commit()
        _copy(fresh, job)
        log.info("job %s failed (%s); hold released", job.id, reason)
        await self.notifier.show_status(job, final=True)

    async def _save(self, job: Job, **fields: Any) -> None:
        async with self.sessionmaker() as session:
            await job_repo.update_job(session, job.id, self.owner, **fields)
            await session.commit()
        for name, value in fields.items():
            setattr(job, name, value)


def _copy(source: Job, target: Job) -> None:
    for column in Job.__table__.columns.keys():
        setattr(target, column, getattr(source, column))


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    return "service"


def _user_detail(exc: kie_errors.KieError) -> str | None:
    """KIE's own words are shown only where they help the user fix the input."""
    return exc.message if isinstance(exc, (kie_errors.KieValidation, kie_errors.KieFileFetch)) else None
