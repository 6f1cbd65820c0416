"""What the catalogue offers right now: without the models KIE disabled, lists ordered by pins and use."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kiebot.cache import Cache, MemoryStore
from kiebot.catalog import Catalog, ModelSpec
from kiebot.catalog.model import DISABLED_REASON
from kiebot.store.db import Database
from kiebot.store.models_status import disabled_models
from kiebot.store.stats import generations_per_model

USAGE_WINDOW = timedelta(days=30)
USAGE_TTL_SECONDS = 600.0  # the order of a list may lag ten minutes behind what people use
# Another replica's memory cache may see a model disabled this late; a shared (Redis) cache is invalidated at once.
DISABLED_TTL_SECONDS = 60.0
DISABLED_KEY = "disabled"


class Offering:
    def __init__(self, db: Database, catalog: Catalog, clock: Callable[[], float] = time.monotonic,
                 disabled: Cache | None = None) -> None:
        self.db = db
        self.catalog = catalog
        self.clock = clock
        self.disabled = disabled or Cache(MemoryStore(), DISABLED_TTL_SECONDS)
        self._usage: dict[str, int] = {}
        self._usage_at: float | None = None
        self._offered: tuple[frozenset[str], Catalog] = (frozenset(), catalog)

    async def current(self) -> Catalog:
        """The catalogue without the models KIE has disabled at run time (shared by replicas through the database,
        read through the `disabled` cache: whoever disables a model calls `forget_disabled`)."""
        disabled = frozenset(await self.disabled.get(DISABLED_KEY, self._load_disabled))
        if disabled != self._offered[0]:  # built once per change, not per update
            self._offered = (disabled, self.catalog.without(set(disabled), DISABLED_REASON) if disabled
                             else self.catalog)
        return self._offered[1]

    async def forget_disabled(self) -> None:
        """The disabled models changed: the next update reads them from the database."""
        await self.disabled.invalidate(DISABLED_KEY)

    async def _load_disabled(self) -> list[str]:
        async with self.db.read() as session:
            return sorted(await disabled_models(session))

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
