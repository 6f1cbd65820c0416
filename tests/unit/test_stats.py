"""/stats figures from SQL aggregates, on SQLite and PostgreSQL."""
from __future__ import annotations

from decimal import Decimal

from kiebot.services.stats import StatsService
from kiebot.store.db import Database
from tests.stats_data import EDIT, NANO, NOW, fill
from tests.store_fixtures import StoreDB, store_db  # noqa: F401


async def test_the_figures(store_db: StoreDB) -> None:  # noqa: F811
    await fill(store_db.sessionmaker)

    async def balance() -> Decimal:
        return Decimal("8800.5")

    figures = await StatsService(Database.of(store_db.engine), balance, clock=lambda: NOW).snapshot()
    assert (figures.users, figures.new_today, figures.new_week) == (4, 1, 2)
    assert (figures.active_today, figures.active_week) == (1, 3)  # the refunded payer counts as active
    assert figures.by_state == {"done": 3, "failed": 1} and figures.generations == 4
    assert figures.top_models == ((NANO, 2), (EDIT, 2))
    assert (figures.stars, figures.charged) == (50, 20)
    assert figures.kie_spent == Decimal("10.75") and isinstance(figures.kie_spent, Decimal)
    assert figures.kie_balance == Decimal("8800.5")
