"""Variants ×N: one confirmation starts 2-4 jobs, the same values N times or one choice field varied over ticked
values. The rules of the variants, their price, their start, the batch's progress and its cancel.

Money: each variant is a job with its own hold (`hold:<job_id>`), all posted in the one transaction that creates
the batch, so the user sees one drop of the balance by the total; each job then settles on its own (a failed
variant's share is released, the others are charged). Free tries are never used for a batch: a free try pays for
one run, and a batch is paid as a whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.catalog import FieldKind, FieldSpec, ModelSpec, form, pricing
from kiebot.services.media import media_facts
from kiebot.services.wizard import Draft
from kiebot.store import batches as batch_repo
from kiebot.store import jobs as job_repo
from kiebot.store import wallet
from kiebot.store.models import Job, JobState

MAX_VARIANTS = 4
MIN_VARIANTS = 2


# --- the variants of a draft -----------------------------------------------------------------------------


def varying_fields(model: ModelSpec, draft: Draft) -> list[FieldSpec]:
    """The choice fields that may be varied: top-level, with at least two options that keep the form priced."""
    return [spec for spec in model.fields
            if spec.kind == FieldKind.CHOICE and len(vary_options(model, draft, spec)) >= MIN_VARIANTS]


def vary_options(model: ModelSpec, draft: Draft, spec: FieldSpec) -> tuple[Any, ...]:
    others = {k: v for k, v in draft.values.items() if k != spec.name}
    return pricing.offered_options(model, spec, others)


def variant_values(draft: Draft) -> list[dict[str, Any]]:
    """The values of each run: the draft's values N times, or with the varied field set to each ticked value."""
    if draft.vary:
        return [{**draft.values, draft.vary: value} for value in draft.vary_values]
    return [dict(draft.values) for _ in range(draft.copies)]


def is_batch(draft: Draft) -> bool:
    """A batch is confirmed: 2-4 runs (a varied field with fewer than two ticked values is not a batch yet)."""
    return MIN_VARIANTS <= draft.batch_size <= MAX_VARIANTS


# --- price -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantPrice:
    value: Any  # the varied field's value; None for copies
    credits: Decimal
    units: int
    exact: bool


@dataclass(frozen=True)
class BatchQuote:
    field: str | None  # the varied field
    variants: tuple[VariantPrice, ...]

    @property
    def size(self) -> int:
        return len(self.variants)

    @property
    def total(self) -> int:
        return sum(v.units for v in self.variants)

    @property
    def exact(self) -> bool:
        return all(v.exact for v in self.variants)

    @property
    def uniform(self) -> bool:
        """Every variant costs the same: the confirmation says "N × price"."""
        return len({v.units for v in self.variants}) == 1


def quote_batch(model: ModelSpec, draft: Draft, markup: Decimal) -> BatchQuote | None:
    """The price of each variant; None when one of them has no price (or the draft is not a batch)."""
    if not is_batch(draft):
        return None
    facts = media_facts(draft.files)
    prices = []
    for values in variant_values(draft):
        quote = pricing.quote(model, values, facts)
        if quote is None:
            return None
        value = values[draft.vary] if draft.vary else None
        prices.append(VariantPrice(value, quote.credits, pricing.user_price(quote.credits, markup), quote.exact))
    return BatchQuote(draft.vary, tuple(prices))


# --- start -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchStart:
    jobs: tuple[Job, ...] = ()
    batch_id: int | None = None
    duplicate: bool = False
    shortfall: int = 0
    invalid: tuple[str, ...] = ()


class _Short(Exception):
    def __init__(self, shortfall: int) -> None:
        self.shortfall = shortfall


async def start_batch(session: AsyncSession, *, model: ModelSpec, draft: Draft, user_id: int, chat_id: int,
                      language: str, markup: Decimal, now: datetime | None = None) -> BatchStart:
    """Create the batch and its jobs, each holding its own price, in one SAVEPOINT: all of them or none.
    Idempotent per confirmation screen (`draft.confirm_key`)."""
    quote = quote_batch(model, draft, markup)
    if quote is None:
        return BatchStart(invalid=("no price for this combination",))
    runs = variant_values(draft)
    errors = [e for values in runs for e in form.validate_input(model, form.build_input(model, values))]
    if errors:
        return BatchStart(invalid=tuple(errors))
    balance, _ = await wallet.get_balance(session, user_id)
    if balance < quote.total:
        return BatchStart(shortfall=quote.total - balance)
    try:
        async with session.begin_nested():
            batch_id = await batch_repo.create_batch(session, user_id=user_id, confirm_key=draft.confirm_key,
                                                     size=quote.size, vary_field=draft.vary)
            if batch_id is None:
                return BatchStart(duplicate=True)
            jobs = []
            for index, (values, price) in enumerate(zip(runs, quote.variants, strict=True)):
                try:
                    job = await job_repo.create_job(
                        session, user_id=user_id, chat_id=chat_id, language=language, model_id=model.id,
                        values=values, files=draft.files, confirm_key=f"{draft.confirm_key}.{index}",
                        price=price.units, credits=str(price.credits), now=now, batch_id=batch_id)
                except job_repo.NotEnoughBalance as exc:  # spent elsewhere since the check: nothing is kept
                    raise _Short(exc.shortfall) from exc
                assert job is not None  # the batch's key is new, so are its jobs' keys
                jobs.append(job)
    except _Short:
        balance, _ = await wallet.get_balance(session, user_id)
        return BatchStart(shortfall=max(1, quote.total - balance))
    return BatchStart(jobs=tuple(jobs), batch_id=batch_id)


# --- progress ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantView:
    job_id: int
    value: Any  # the varied field's value; None for copies
    state: JobState
    progress: int  # 0-100
    price: int
    charged: int | None
    error_code: str | None


@dataclass(frozen=True)
class BatchView:
    """A batch as its status message shows it (plain values, never rows)."""

    batch_id: int
    model_id: str
    field: str | None
    variants: tuple[VariantView, ...]
    delivered: bool  # the album went out

    @property
    def size(self) -> int:
        return len(self.variants)

    @property
    def ready(self) -> int:
        """Variants whose result is in (being delivered or delivered)."""
        return sum(v.state in (JobState.DELIVERING, JobState.DONE) for v in self.variants)

    @property
    def failed(self) -> tuple[VariantView, ...]:
        return tuple(v for v in self.variants if v.state == JobState.FAILED)

    @property
    def all_waiting(self) -> bool:
        return all(v.state == JobState.WAITING for v in self.variants)

    @property
    def ended(self) -> bool:
        return all(v.state in (JobState.DONE, JobState.FAILED) for v in self.variants)

    @property
    def held(self) -> int:
        return sum(v.price for v in self.variants)

    @property
    def charged(self) -> int:
        return sum(v.charged or 0 for v in self.variants if v.state == JobState.DONE)

    @property
    def released(self) -> int:
        return sum(v.price for v in self.failed)

    @property
    def progress(self) -> int:
        return sum(v.progress for v in self.variants) // max(1, self.size)


def _progress(job: Job) -> int:
    if job.state in (JobState.DELIVERING, JobState.DONE, JobState.FAILED):
        return 100
    return (job.progress or 0) if job.state == JobState.RUNNING else 0


async def batch_view(session: AsyncSession, batch_id: int) -> BatchView | None:
    batch = await batch_repo.get_batch(session, batch_id)
    jobs = await batch_repo.batch_jobs(session, batch_id)
    if batch is None or not jobs:
        return None
    variants = tuple(
        VariantView(job.id, job.values.get(batch.vary_field) if batch.vary_field else None, JobState(job.state),
                    _progress(job), job.price, job.charged, job.error_code)
        for job in jobs)
    return BatchView(batch.id, jobs[0].model_id, batch.vary_field, variants, batch.delivered_at is not None)


async def own_batch_view(session: AsyncSession, batch_id: int, user_id: int) -> BatchView | None:
    batch = await batch_repo.get_batch(session, batch_id)
    return await batch_view(session, batch_id) if batch is not None and batch.user_id == user_id else None


# --- cancel ------------------------------------------------------------------------------------------


class _TooLate(Exception):
    pass


async def cancel_batch(session: AsyncSession, batch_id: int, user_id: int) -> bool | None:
    """Cancel a batch while every variant still waits in the bot's line: each hold is released. False when one
    of them has started (nothing is cancelled then: the batch runs as confirmed), None when it is not theirs."""
    batch = await batch_repo.get_batch(session, batch_id)
    if batch is None or batch.user_id != user_id:
        return None
    try:
        async with session.begin_nested():
            for job in await batch_repo.batch_jobs(session, batch_id):
                if not await job_repo.fail_job(session, job, error_code="cancelled", only_from=(JobState.WAITING,)):
                    raise _TooLate
    except _TooLate:
        return False
    return True
