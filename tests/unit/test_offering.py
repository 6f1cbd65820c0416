"""What is offered: the models KIE disabled are read through a cache that a disable invalidates."""
from __future__ import annotations

from kiebot.cache import Cache, MemoryStore
from kiebot.catalog import Catalog
from kiebot.catalog.model import DISABLED_REASON
from kiebot.services.offering import Offering
from kiebot.store.db import Database
from kiebot.store.models_status import disable_model
from tests.store_fixtures import StoreDB, store_db  # noqa: F401

CATALOG = Catalog.load()
MODEL = "google/nano-banana"


async def test_disabled_models_come_from_the_cache_until_it_is_told(store_db: StoreDB) -> None:  # noqa: F811
    cache = Cache(MemoryStore(), ttl=3600)
    offering = Offering(Database.of(store_db.engine), CATALOG, disabled=cache)
    assert await offering.current() is CATALOG  # nothing disabled: the catalogue itself
    assert await offering.current() is CATALOG
    assert (cache.stats.misses, cache.stats.hits) == (1, 1)  # read once

    async with store_db.sessionmaker() as session:
        await disable_model(session, MODEL, "feature disabled")
        await session.commit()
    assert (await offering.current()).get(MODEL) is not None  # not seen until invalidated (or the TTL is over)
    await offering.forget_disabled()  # what the engine does after it disabled a model
    offered = await offering.current()
    assert offered.get(MODEL) is None and (MODEL, DISABLED_REASON) in offered.excluded
    assert await offering.current() is offered  # the reduced catalogue is built once, not per update
