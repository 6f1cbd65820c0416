"""The bot's own CPU per wizard step, with no HTTP: the real `App` and Dispatcher fed updates directly, every Bot API
call answered at once by a canned session (a sent or edited message comes back as a parsed `Message`, as from
Telegram). What is left is the bot's work alone: middlewares, routing, the FSM row, the screen, aiogram's request
building. Prints figures; asserts nothing.

    .venv/bin/python bench/handler_cpu.py                      # temp SQLite file, 50 users × 20 steps
    .venv/bin/python bench/handler_cpu.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/handler_cpu.py --memory-storage     # aiogram's MemoryStorage: the floor without a database

Each user opens Nano Banana's form (untimed), then alternately types the prompt (→ step 2) and presses ◀ Back
(→ step 1), all users at once; each answer is checked to be that exact step. A PostgreSQL URL gets a fresh database,
dropped afterwards (as in journeys.py).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.base import BaseSession  # noqa: E402
from aiogram.types import CallbackQuery, Chat, Message, Update, User  # noqa: E402

from bench.journeys import database  # noqa: E402
from kiebot import app as app_module  # noqa: E402
from kiebot.config import Settings  # noqa: E402
from kiebot.store import db  # noqa: E402
from tests.e2e.conftest import TOKEN  # noqa: E402

MODEL = "google-nano-banana"


class CannedSession(BaseSession):
    """Answers every Bot API method at once; keeps the last screen sent to each chat."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[int, Any] = {}
        self.calls = 0
        self._ids = itertools.count(1000)

    async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:
        self.calls += 1
        name = type(method).__name__
        if name == "GetMe":
            return User(id=123456789, is_bot=True, first_name="KIE bot", username="kie_bench_bot")
        if name in ("SendMessage", "EditMessageText"):
            chat_id = method.chat_id
            self.last[chat_id] = method
            return Message(message_id=getattr(method, "message_id", None) or next(self._ids),
                           date=datetime.now(UTC), chat=Chat(id=chat_id, type="private"), text=method.text,
                           reply_markup=method.reply_markup)
        return True

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - no downloads here
        raise NotImplementedError


def button(method: Any, label: str) -> str:
    markup = method.reply_markup
    return next(b.callback_data for row in markup.inline_keyboard for b in row if label in b.text)


class Feeder:
    """Builds updates of the bench's users and feeds them to the dispatcher."""

    def __init__(self, app: Any, bot: Bot, session: CannedSession) -> None:
        self.app, self.bot, self.session = app, bot, session
        self._ids = itertools.count(1)

    async def text(self, user: User, text: str) -> Any:
        message = Message(message_id=next(self._ids), date=datetime.now(UTC), chat=Chat(id=user.id, type="private"),
                          from_user=user, text=text)
        return await self._feed(user, message=message)

    async def press(self, user: User, data: str) -> Any:
        shown = Message(message_id=getattr(self.session.last[user.id], "message_id", None) or 1,
                        date=datetime.now(UTC), chat=Chat(id=user.id, type="private"), from_user=user, text="…")
        query = CallbackQuery(id=str(next(self._ids)), from_user=user, chat_instance="ci", message=shown, data=data)
        return await self._feed(user, callback_query=query)

    async def _feed(self, user: User, **payload: Any) -> Any:
        await self.app.dispatcher.feed_update(self.bot, Update(update_id=next(self._ids), **payload))
        return self.session.last[user.id]


async def step(feeder: Feeder, user: User, k: int) -> None:
    if k % 2 == 0:
        screen = await feeder.text(user, f"A red fox in the snow, take {k}")
        expected = "step 2 of"
    else:
        screen = await feeder.press(user, button(feeder.session.last[user.id], "Back"))
        expected = "step 1 of"
    if expected not in screen.text:
        raise AssertionError(f"expected {expected!r}, got {screen.text[:80]!r}")


async def run(url: str, users: int, rounds: int, memory_storage: bool) -> dict[str, float]:
    await db.migrate(url)
    settings = Settings(_env_file=None, bot_token=TOKEN, kie_api_key="kie-key-of-the-handler-cpu-bench",
                        database_url=url, default_language="en")
    if memory_storage:
        from aiogram.fsm.storage.memory import MemoryStorage
        app_module.SqlStorage = lambda *args, **kwargs: MemoryStorage()  # type: ignore[assignment,misc]
    app = app_module.App(settings)
    session = CannedSession()
    feeder = Feeder(app, Bot(token=TOKEN, session=session), session)
    people = [User(id=5_000_000 + i, is_bot=False, first_name="U", language_code="en") for i in range(users)]
    try:
        for user in people:  # untimed: the form is open at step 1
            card = await feeder.text(user, f"/start m_{MODEL}")
            await feeder.press(user, button(card, "Start"))

        async def walk(user: User, steps: int) -> None:
            for k in range(steps):
                await step(feeder, user, k)

        await asyncio.gather(*(walk(u, 2) for u in people))  # warm-up
        session.calls = 0
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(walk(u, 2 * rounds) for u in people))
        steps = users * 2 * rounds
        return {"steps": steps, "cpu_ms_per_step": 1000 * (time.process_time() - cpu) / steps,
                "wall_s": time.perf_counter() - wall, "telegram_calls_per_step": session.calls / steps}
    finally:
        await app.close()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="kiebot-handler-cpu-") as tmp:
        async with database(args.database_url, Path(tmp)) as url:
            result = await run(url, args.users, args.rounds, args.memory_storage)
    storage = "MemoryStorage" if args.memory_storage else url.split("://")[0]
    print(f"handler CPU — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {storage}, {args.users} users × "
          f"{2 * args.rounds} steps: {result['steps']} steps in {result['wall_s']:.2f} s, "
          f"CPU {result['cpu_ms_per_step']:.2f} ms per step, {result['telegram_calls_per_step']:.2f} Bot API calls "
          f"per step")


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: a temp SQLite file")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10, help="pairs of steps per user")
    parser.add_argument("--memory-storage", action="store_true")
    asyncio.run(main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
