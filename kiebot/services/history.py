"""A user's past generations, page by page, and reopening one to repeat or edit it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiebot.catalog import Catalog, ModelSpec
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


@dataclass(frozen=True)
class HistoryPage:
    items: tuple[HistoryItem, ...]
    page: int
    total: int  # generations in all


class HistoryService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(self, user_id: int, page: int) -> HistoryPage:
        """Page `page` (from 0; one past the end shows the last page) of the user's generations, newest first."""
        async with self.db.read() as session:
            total = await count_jobs_of(session, user_id)
            page = min(max(page, 0), max(0, (total - 1) // PAGE_SIZE))
            jobs = await job_repo.recent_jobs(session, user_id, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        items = tuple(
            HistoryItem(job.id, job.model_id, str(job.state), job.charged if job.charged is not None else job.price,
                        job.created_at)
            for job in jobs
        )
        return HistoryPage(items, page, total)

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
