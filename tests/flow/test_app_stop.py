"""Stopping the bot: a stop that comes while it is still starting is not lost."""
from __future__ import annotations

import asyncio

from tests.flow.conftest import Tier


async def test_a_stop_before_polling_has_begun_still_stops_the_bot(tier: Tier, monkeypatch) -> None:
    app = tier.app
    began = asyncio.Event()

    async def slow_polling(*args, **kwargs) -> None:  # polling that takes a while to begin, then runs until stopped
        await asyncio.sleep(0.2)
        began.set()
        stopped = asyncio.Event()
        monkeypatch.setattr(app.dispatcher, "stop_polling", lambda: _set(stopped))
        await stopped.wait()

    async def _set(event: asyncio.Event) -> None:
        event.set()

    async def refuse_until_begun() -> None:  # aiogram refuses to stop polling that has not started
        raise RuntimeError("Polling is not started")

    monkeypatch.setattr(app.dispatcher, "start_polling", slow_polling)
    monkeypatch.setattr(app.dispatcher, "stop_polling", refuse_until_begun)
    polling = asyncio.create_task(app._poll_until_stopped())
    await app.stop()  # before polling has begun
    await asyncio.wait_for(polling, timeout=5)
    assert began.is_set()
