"""A user's past generations, page by page, and reopening one to repeat or edit it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiebot.catalog import Catalog, ModelSpec
from kiebot.clock import utcnow
from kiebot.services.next_steps import Step, lyrics_of, offered_steps, result_of
from kiebot.services.wizard import Draft
from kiebot.store import jobs as job_repo
from kiebot.store.db import Database
from kiebot.store.stats import count_jobs_of

PAGE_SIZE = 8


@dataclass(frozen=True)
class HistoryItem:
    job_id: int
    model_id: str
    state: str
    amount: int  # what was charged, or the price held while the job is open
    created_at: datetime | None
    next_steps: tuple[Step, ...] = ()  # what can be done with its result (services.next_steps)
    lyrics: bool = False  # its result's tracks carry lyrics (📝 Lyrics)


@dataclass(frozen=True)
class HistoryPage:
    items: tuple[HistoryItem, ...]
    page: int
    total: int  # generations in all


class HistoryService:
    def __init__(self, db: Database, ttl_hours: float) -> None:
        self.db = db
        self.ttl_hours = ttl_hours  # how long a result's KIE link is trusted (UPLOAD_TTL_HOURS)

    async def page(self, user_id: int, page: int, catalog: Catalog) -> HistoryPage:
        """Page `page` (from 0; one past the end shows the last page) of the user's generations, newest first, each
        with its next steps (`catalog`: the offered catalogue)."""
        async with self.db.read() as session:
            total = await count_jobs_of(session, user_id)
            page = min(max(page, 0), max(0, (total - 1) // PAGE_SIZE))
            jobs = await job_repo.recent_jobs(session, user_id, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        now = utcnow()
        items = []
        for job in jobs:
            result = result_of(job, catalog)
            steps = offered_steps(catalog, result, self.ttl_hours, now) if result else ()
            items.append(HistoryItem(job.id, job.model_id, str(job.state),
                                     job.charged if job.charged is not None else job.price, job.created_at, steps,
                                     bool(lyrics_of(job))))
        return HistoryPage(tuple(items), page, total)

    async def reopen(self, user_id: int, job_id: int, catalog: Catalog, *, edit: bool) -> tuple[ModelSpec, Draft] | None:
        """A draft with the job's values on the confirmation screen (`edit`: at its first field instead).
        None when the job is not the user's or its model is no longer offered."""
        async with self.db.read() as session:
            job = await job_repo.get_job(session, job_id)
        model = catalog.get(job.model_id) if job is not None and job.user_id == user_id else None
        if job is None or model is None:
            return None
        draft = Draft.prefilled(model, job.values, job.files)
        if edit and model.fields:
            draft.edit(model, model.fields[0].name)
        return model, draft
