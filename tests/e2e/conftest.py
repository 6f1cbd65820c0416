"""End-to-end stack: the bot's real polling loop and job worker, a fake Telegram Bot API and the KIE
emulator, each a real HTTP server on 127.0.0.1. Restarts reuse the same SQLite file."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kiebot.app import App
from kiebot.config import Settings
from kiebot.kie.emulator import EmulatorTimings, RunningEmulator, start_emulator
from kiebot.store import db
from tests.fakes import FakeTelegram, FakeUser, FloodLimits

TOKEN = "123456789:TEST_token_for_the_fake_telegram_api_00"
KIE_KEY = "test-kie-key-0123456789abcdef"


class Stack:
    """What an end-to-end test drives: `tg` (user side), `kie` (emulator) and the running bot."""

    def __init__(self, tg: FakeTelegram, kie: RunningEmulator, settings: Settings) -> None:
        self.tg = tg
        self.kie = kie
        self.settings = settings
        self.app: App | None = None
        self._task: asyncio.Task[None] | None = None

    async def start_bot(self) -> App:
        await db.migrate(self.settings.database_url)
        self.app = App(self.settings)
        polled_before = len(self.tg.calls("getUpdates"))
        self._task = asyncio.create_task(self.app.run())
        # This bot polls: a getUpdates after its start (an earlier bot's calls do not count).
        await self.tg.wait_for(lambda: len(self.tg.calls("getUpdates")) > polled_before, timeout=10)
        return self.app

    async def stop_bot(self) -> None:
        if self.app is None or self._task is None:
            return
        await self.app.stop()
        await asyncio.wait_for(self._task, timeout=30)
        self.app, self._task = None, None

    async def restart_bot(self) -> App:
        await self.stop_bot()
        return await self.start_bot()

    async def kie_control(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        async with aiohttp.ClientSession() as http:
            if payload is None:
                async with http.get(f"{self.kie.url}/_emulator/{path}") as response:
                    return await response.json()
            async with http.post(f"{self.kie.url}/_emulator/{path}", json=payload) as response:
                return await response.json()

    async def kie_tasks(self) -> list[dict[str, Any]]:
        return (await self.kie_control("tasks"))["tasks"]


def make_settings(tmp_path: Path, tg: FakeTelegram, kie: RunningEmulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        bot_token=TOKEN,
        kie_api_key=KIE_KEY,
        telegram_api_base=tg.base_url,
        kie_api_base=kie.url,
        kie_upload_base=kie.url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        admin_ids=[900],
        welcome_bonus=100,
        kie_poll_speedup=20,
        worker_interval=0.05,
        status_edit_interval=0.2,
        web_port=0,  # a free port: stacks running side by side never share one
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


@contextlib.asynccontextmanager
async def running_stack(tmp_path: Path, flood: FloodLimits | None = None, **overrides: Any) -> AsyncIterator[Stack]:
    timings = EmulatorTimings(null_record_s=0.2, queue_s=0.2, generate_s=0.6)
    if flood is not None:  # the bot is set up for the limits of the Telegram it talks to
        overrides.setdefault("telegram_chat_rate", flood.per_chat_rate if flood.enabled else 100.0)
        overrides.setdefault("telegram_chat_burst", flood.per_chat_burst if flood.enabled else 100)
    async with FakeTelegram(token=TOKEN, flood=flood) as tg:
        # The emulator signs its callbacks as KIE would for an account with this key.
        kie = await start_emulator(api_key=KIE_KEY, timings=timings,
                                   webhook_hmac_key=overrides.get("kie_webhook_hmac_key"))
        stack = Stack(tg, kie, make_settings(tmp_path, tg, kie, **overrides))
        try:
            await stack.start_bot()
            yield stack
        finally:
            await stack.stop_bot()
            await kie.close()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path) as s:
        yield s


@pytest.fixture
async def quick(tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack whose fake Telegram allows bursts (for journeys that send many screens)."""
    async with running_stack(tmp_path, flood=relaxed_flood()) as s:
        yield s


@pytest.fixture
def alice() -> FakeUser:
    return FakeUser(1001, "Alice", "en", "alice")


@pytest.fixture
def boris() -> FakeUser:
    return FakeUser(1002, "Борис", "ru", "boris")


# --------------------------------------------------------------------------- journey helpers

ADMIN = FakeUser(900, "Admin", "en", "admin")


def relaxed_flood() -> FloodLimits:
    """Telegram's limits scaled up, for journeys that send many messages (kept in order, still enforced)."""
    return FloodLimits(per_chat_rate=20.0, per_chat_burst=20)


async def balance_of(stack: Stack, user: FakeUser) -> tuple[int, int]:
    """(balance, held) as stored."""
    from kiebot.store import wallet

    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        return await wallet.get_balance(session, user.id)


async def ledger_of(stack: Stack, user: FakeUser) -> list[tuple[str, int, int]]:
    """The user's ledger rows, oldest first: (kind, delta_balance, delta_held)."""
    from sqlalchemy import select

    from kiebot.store.models import LedgerEntry

    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        rows = (await session.execute(
            select(LedgerEntry).where(LedgerEntry.user_id == user.id).order_by(LedgerEntry.id))).scalars()
        return [(str(r.kind), int(r.delta_balance), int(r.delta_held)) for r in rows]
