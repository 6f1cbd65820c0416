"""Quotes and the start of a generation: the money rules between the wizard and the job engine."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.catalog import ModelSpec, form, pricing
from kiebot.services import batches
from kiebot.services.free import FreePolicy, utc_day
from kiebot.services.media import media_facts
from kiebot.services.wizard import Draft
from kiebot.store import free_tries
from kiebot.store import jobs as job_repo
from kiebot.store.db import Database
from kiebot.store.models import Job


@dataclass(frozen=True)
class Price:
    credits: Decimal  # KIE credits held
    units: int  # what the user pays, in the bot's unit
    exact: bool  # False: the highest possible price is held, the actual one charged after the run


@dataclass(frozen=True)
class Started:
    """A job just queued, as the bot layer shows it (never the row itself)."""

    job_id: int
    price: int
    ahead: int | None  # the user's waiting jobs before this one, when they are at MAX_ACTIVE_PER_USER
    batch_id: int | None = None  # variants ×N: `job_id` is the first of the batch's jobs, `price` their total


@dataclass(frozen=True)
class StartResult:
    job: Job | None = None  # inside the unit of work only; the service hands the bot layer `started`
    started: Started | None = None
    duplicate: bool = False  # this confirmation already started a job
    shortfall: int = 0  # balance missing (stars.package_for(shortfall, packages) names the package to offer)
    invalid: tuple[str, ...] = ()  # schema errors (should not happen: the wizard only offers valid values)
    free: bool = False  # the job was started with a daily free try (nothing held)


def price_of(model: ModelSpec, draft: Draft, markup: Decimal) -> Price | None:
    """The price of the values chosen so far, or None when the combination has no price."""
    quote = pricing.quote(model, draft.values, media_facts(draft.files))
    if quote is None:
        return None
    return Price(quote.credits, pricing.user_price(quote.credits, markup), quote.exact)


async def start(
    session: AsyncSession,
    *,
    model: ModelSpec,
    draft: Draft,
    user_id: int,
    chat_id: int,
    language: str,
    markup: Decimal,
    free: FreePolicy | None = None,
    now: datetime | None = None,
) -> StartResult:
    """Hold the price and queue the job. Idempotent per confirmation screen (`draft.confirm_key`).

    For a model `free` covers, a free try of today (UTC) is used first while one is left: the job then holds 0.
    """
    errors = form.validate_input(model, form.build_input(model, draft.values))
    if errors:
        return StartResult(invalid=tuple(errors))
    price = price_of(model, draft, markup)
    if price is None:
        return StartResult(invalid=("no price for this combination",))
    now = now or datetime.now(UTC)
    create = partial(
        job_repo.create_job, session, user_id=user_id, chat_id=chat_id, language=language, model_id=model.id,
        values=draft.values, files=draft.files, confirm_key=draft.confirm_key, credits=str(price.credits), now=now,
    )
    if free is not None and free.covers(model.id):
        started = await _start_free(session, create, user_id, free.daily, utc_day(now))
        if started is not None:
            return started
    try:
        job = await create(price=price.units)
    except job_repo.NotEnoughBalance as exc:
        return StartResult(shortfall=exc.shortfall)
    if job is None:
        return StartResult(duplicate=True)
    return StartResult(job=job)


class _Duplicate(Exception):
    pass


async def _start_free(
    session: AsyncSession, create: Callable[..., Awaitable[Job | None]], user_id: int, daily: int, day: date
) -> StartResult | None:
    """Start the job with a free try (one savepoint: the try, the job at price 0, its ledger row); None when no
    try is left today."""
    try:
        async with session.begin_nested():
            if not await free_tries.take(session, user_id, day, daily):
                return None
            job = await create(price=0)
            if job is None:
                raise _Duplicate  # this confirmation started a job before: the try is not used
            await free_tries.mark_job_free(session, job, day)
    except _Duplicate:
        return StartResult(duplicate=True)
    return StartResult(job=job, free=True)


class GenerationService:
    """Quotes and starts for the bot layer; each start is one short unit of work of its own."""

    def __init__(self, db: Database, markup: Decimal, max_active_per_user: int, free: FreePolicy | None = None) -> None:
        self.db = db
        self.markup = markup
        self.max_active_per_user = max_active_per_user
        self.free = free

    def price(self, model: ModelSpec, draft: Draft) -> Price | None:
        return price_of(model, draft, self.markup)

    def batch_quote(self, model: ModelSpec, draft: Draft) -> batches.BatchQuote | None:
        """The price of each variant when the draft asks for 2-4 runs, else None."""
        return batches.quote_batch(model, draft, self.markup)

    async def start(self, model: ModelSpec, draft: Draft, *, user_id: int, chat_id: int, language: str,
                    status_message_id: int | None) -> StartResult:
        """`start` in a transaction of its own. `status_message_id`: the message the engine keeps the job's status
        in (the confirmation message, turned into it)."""
        if batches.is_batch(draft):
            return await self._start_batch(model, draft, user_id=user_id, chat_id=chat_id, language=language,
                                           status_message_id=status_message_id)
        async with self.db.write.begin() as session:
            result = await start(session, model=model, draft=draft, user_id=user_id, chat_id=chat_id,
                                 language=language, markup=self.markup, free=self.free)
            job = result.job
            if job is None:
                return result
            job.status_message_id = status_message_id
            ahead = await job_repo.own_line(session, job, self.max_active_per_user)
            return replace(result, job=None, started=Started(job.id, job.price, ahead))

    async def _start_batch(self, model: ModelSpec, draft: Draft, *, user_id: int, chat_id: int, language: str,
                           status_message_id: int | None) -> StartResult:
        """The batch's jobs in one unit of work; they share the status message."""
        async with self.db.write.begin() as session:
            begun = await batches.start_batch(session, model=model, draft=draft, user_id=user_id, chat_id=chat_id,
                                              language=language, markup=self.markup)
            if not begun.jobs:
                return StartResult(duplicate=begun.duplicate, shortfall=begun.shortfall, invalid=begun.invalid)
            for job in begun.jobs:
                job.status_message_id = status_message_id
            first = begun.jobs[0]
            total = sum(job.price for job in begun.jobs)
            return StartResult(started=Started(first.id, total, None, batch_id=begun.batch_id))
