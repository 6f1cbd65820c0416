"""The bot's own upkeep: the cleanup runs as soon as the bot starts, then every CLEANUP_SECONDS, until it stops."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from kiebot.app import CLEANUP_SECONDS
from kiebot.store.models import FsmRecord
from tests.flow.conftest import Tier


async def test_the_bot_cleans_up_at_start_and_stops_cleanly(tier: Tier) -> None:
    app = tier.app
    stale = datetime.now(UTC) - timedelta(days=app.settings.draft_days + 1)
    async with app.db.write() as session:
        await session.execute(insert(FsmRecord).values(key="fsm:7:7", state=None, data={"draft": {"model_id": "x"}},
                                                       updated_at=stale))
        await session.commit()
    cleaning = asyncio.create_task(app._every(CLEANUP_SECONDS, app._clean_up, "database cleanup"))
    for _ in range(600):  # the first run starts at once; the next one is a day away
        async with app.db.read() as session:
            if not list(await session.scalars(select(FsmRecord.key))):
                break
        await asyncio.sleep(0.05)
    async with app.db.read() as session:
        assert list(await session.scalars(select(FsmRecord.key))) == []
    app.stop_event.set()
    await asyncio.wait_for(cleaning, timeout=10)  # a stop ends the day's wait at once
