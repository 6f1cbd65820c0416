"""Quotes and the start of a generation: the money rules between the wizard and the job engine."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kiebot.catalog import ModelSpec, form, pricing
from kiebot.services.media import media_facts
from kiebot.services.wizard import Draft
from kiebot.store import jobs as job_repo
from kiebot.store.db import Database


@dataclass(frozen=True)
class Price:
    credits: Decimal  # KIE credits held
    units: int  # what the user pays, in the bot's unit
    exact: bool  # False: the highest possible price is held, the actual one charged after the run


@dataclass(frozen=True)
class Started:
    job_id: int
    price: int
    ahead: int | None  # the user's waiting jobs before this one, when they are at MAX_ACTIVE_PER_USER


@dataclass(frozen=True)
class StartResult:
    started: Started | None = None
    duplicate: bool = False  # this confirmation already started a job
    shortfall: int = 0  # balance missing
    invalid: tuple[str, ...] = ()  # schema errors (should not happen: the wizard only offers valid values)


def price_of(model: ModelSpec, draft: Draft, markup: Decimal) -> Price | None:
    """The price of the values chosen so far, or None when the combination has no price."""
    quote = pricing.quote(model, draft.values, media_facts(draft.files))
    if quote is None:
        return None
    return Price(quote.credits, pricing.user_price(quote.credits, markup), quote.exact)


class GenerationService:
    def __init__(self, db: Database, markup: Decimal, max_active_per_user: int) -> None:
        self.db = db
        self.markup = markup
        self.max_active_per_user = max_active_per_user

    def price(self, model: ModelSpec, draft: Draft) -> Price | None:
        return price_of(model, draft, self.markup)

    async def start(self, model: ModelSpec, draft: Draft, *, user_id: int, chat_id: int, language: str,
                    status_message_id: int | None) -> StartResult:
        """Hold the price and queue the job, in one transaction. Idempotent per confirmation screen
        (`draft.confirm_key`). `status_message_id`: the message the engine keeps the job's status in."""
        errors = form.validate_input(model, form.build_input(model, draft.values))
        if errors:
            return StartResult(invalid=tuple(errors))
        price = self.price(model, draft)
        if price is None:
            return StartResult(invalid=("no price for this combination",))
        async with self.db.write.begin() as session:
            try:
                job = await job_repo.create_job(
                    session, user_id=user_id, chat_id=chat_id, language=language, model_id=model.id,
                    values=draft.values, files=draft.files, confirm_key=draft.confirm_key,
                    price=price.units, credits=str(price.credits),
                )
            except job_repo.NotEnoughBalance as exc:
                return StartResult(shortfall=exc.shortfall)
            if job is None:
                return StartResult(duplicate=True)
            job.status_message_id = status_message_id
            at_limit = await job_repo.count_active(session, user_id) >= self.max_active_per_user
            ahead = await job_repo.position_in_line(session, job) if at_limit else None
            return StartResult(started=Started(job.id, job.price, ahead))
