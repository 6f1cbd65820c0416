"""Quotes and the start of a generation: the money rules between the wizard and the job engine."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.catalog import ModelSpec, form, pricing
from kiebot.services.media import media_facts
from kiebot.services.wizard import Draft
from kiebot.store import jobs as job_repo
from kiebot.store.models import Job


@dataclass(frozen=True)
class Price:
    credits: Decimal  # KIE credits held
    units: int  # what the user pays, in the bot's unit
    exact: bool  # False: the highest possible price is held, the actual one charged after the run


@dataclass(frozen=True)
class StartResult:
    job: Job | None = None
    duplicate: bool = False  # this confirmation already started a job
    shortfall: int = 0  # balance missing
    invalid: tuple[str, ...] = ()  # schema errors (should not happen: the wizard only offers valid values)


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
) -> StartResult:
    """Hold the price and queue the job. Idempotent per confirmation screen (`draft.confirm_key`)."""
    errors = form.validate_input(model, form.build_input(model, draft.values))
    if errors:
        return StartResult(invalid=tuple(errors))
    price = price_of(model, draft, markup)
    if price is None:
        return StartResult(invalid=("no price for this combination",))
    try:
        job = await job_repo.create_job(
            session,
            user_id=user_id,
            chat_id=chat_id,
            language=language,
            model_id=model.id,
            values=draft.values,
            files=draft.files,
            confirm_key=draft.confirm_key,
            price=price.units,
            credits=str(price.credits),
        )
    except job_repo.NotEnoughBalance as exc:
        return StartResult(shortfall=exc.shortfall)
    if job is None:
        return StartResult(duplicate=True)
    return StartResult(job=job)
