"""The in-process handler tier: the real Dispatcher, its middlewares and a migrated SQLite file, fed updates with
`Dispatcher.feed_update`; every Bot API call is recorded by a session that never touches the network.

Each recorded call also checks that no database transaction holds SQLite's write lock while the bot talks to
Telegram (the lesson of updates queueing behind each other's I/O)."""
from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from kiebot.app import App
from kiebot.config import Settings
from kiebot.store import db

TOKEN = "123456789:TEST_token_for_the_in_process_tier_0"


class RecordingSession(BaseSession):
    """Answers every Bot API method as Telegram would, and records it."""

    def __init__(self, database: Path) -> None:
        super().__init__()
        self.database = database
        self.calls: list[TelegramMethod[Any]] = []
        self.locked_during: list[str] = []
        self._ids = itertools.count(1000)

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.calls.append(method)
        if self._write_lock_taken():
            self.locked_during.append(type(method).__name__)
        name = type(method).__name__
        if name == "GetMe":
            return User(id=123456789, is_bot=True, first_name="KIE bot", username="kie_test_bot")
        if name in ("SendMessage", "EditMessageText"):
            chat_id = getattr(method, "chat_id", None) or 0
            return Message(message_id=getattr(method, "message_id", None) or next(self._ids),
                           date=datetime.now(UTC), chat=Chat(id=chat_id, type="private"), text=method.text,
                           reply_markup=method.reply_markup).as_(bot)
        return True

    def _write_lock_taken(self) -> bool:
        with sqlite3.connect(self.database, timeout=0) as probe:
            try:
                probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            probe.rollback()
            return False

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - no downloads here
        raise NotImplementedError

    def sent(self, kind: str) -> list[Any]:
        return [c for c in self.calls if type(c).__name__ == kind]


class Tier:
    """Feeds updates from one user to the real dispatcher and reads what the bot answered."""

    def __init__(self, app: App, bot: Bot, session: RecordingSession) -> None:
        self.app, self.bot, self.session = app, bot, session
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    def user(self, user_id: int = 1001, language: str = "en") -> User:
        return User(id=user_id, is_bot=False, first_name="Alice", language_code=language)

    async def send(self, text: str, user: User | None = None, chat: Chat | None = None) -> None:
        user = user or self.user()
        message = Message(message_id=next(self._message_ids), date=datetime.now(UTC),
                          chat=chat or Chat(id=user.id, type="private"), from_user=user, text=text)
        await self._feed(message=message)

    async def press(self, data: str, user: User | None = None, message_id: int = 1) -> None:
        user = user or self.user()
        message = Message(message_id=message_id, date=datetime.now(UTC), chat=Chat(id=user.id, type="private"),
                          from_user=user, text="…")
        await self._feed(callback_query=CallbackQuery(id=str(next(self._update_ids)), from_user=user,
                                                      chat_instance="ci", message=message, data=data))

    async def _feed(self, **payload: Any) -> None:
        self.session.calls.clear()
        await self.app.dispatcher.feed_update(self.bot, Update(update_id=next(self._update_ids), **payload))

    def last_screen(self) -> Any:
        """The last message sent or edited."""
        return [c for c in self.session.calls if type(c).__name__ in ("SendMessage", "EditMessageText")][-1]

    def callback_answer(self) -> Any:
        return self.session.sent("AnswerCallbackQuery")[-1]


def buttons(method: Any) -> dict[str, str]:
    """Button text → callback data of a sent or edited screen."""
    markup = method.reply_markup
    return {b.text: b.callback_data for row in (markup.inline_keyboard if markup else []) for b in row}


@pytest.fixture
async def tier(tmp_path: Path) -> AsyncIterator[Tier]:
    path = tmp_path / "bot.db"
    settings = Settings(_env_file=None, bot_token=TOKEN, kie_api_key="kie-key-for-the-flow-tier",
                        database_url=f"sqlite+aiosqlite:///{path}", welcome_bonus=100, admin_ids=[900])
    await db.migrate(settings.database_url)
    app = App(settings)
    session = RecordingSession(path)
    bot = Bot(token=TOKEN, session=session)
    try:
        yield Tier(app, bot, session)
    finally:
        await app.close()
