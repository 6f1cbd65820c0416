"""What the catalogue offers right now: without the models KIE disabled, lists ordered by pins and use."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kiebot.catalog import Catalog, ModelSpec
from kiebot.catalog.model import DISABLED_REASON
from kiebot.store.db import Database
from kiebot.store.models_status import disabled_models
from kiebot.store.stats import generations_per_model

USAGE_WINDOW = timedelta(days=30)
USAGE_TTL_SECONDS = 600.0  # the order of a list may lag ten minutes behind what people use


class Offering:
    def __init__(self, db: Database, catalog: Catalog, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.catalog = catalog
        self.clock = clock
        self._usage: dict[str, int] = {}
        self._usage_at: float | None = None

    async def current(self) -> Catalog:
        """The catalogue without the models KIE has disabled at run time (shared by replicas through the database)."""
        async with self.db.read() as session:
            disabled = await disabled_models(session)
        return self.catalog.without(disabled, DISABLED_REASON) if disabled else self.catalog

    async def models_in(self, catalog: Catalog, category: str, task: str | None) -> list[ModelSpec]:
        """A task's models: the operator's pinned ones first, then by generations in the last 30 days."""
        return await self.ordered(catalog, catalog.models_in(category, task))

    async def ordered(self, catalog: Catalog, models: list[ModelSpec] | tuple[ModelSpec, ...]) -> list[ModelSpec]:
        """`models` with the operator's pinned ones first, then by generations in the last 30 days."""
        return catalog.ordered(models, await self._recent_usage())

    async def _recent_usage(self) -> dict[str, int]:
        now = self.clock()
        if self._usage_at is None or now - self._usage_at > USAGE_TTL_SECONDS:
            async with self.db.read() as session:
                self._usage = await generations_per_model(session, datetime.now(UTC) - USAGE_WINDOW)
            self._usage_at = now
        return self._usage
