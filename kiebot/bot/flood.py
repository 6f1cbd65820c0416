"""Outgoing Telegram traffic within Telegram's limits: ~30 messages/s overall, ~1/s per chat with short
bursts (PLATFORM.md). Messages wait for their turn instead of earning a 429; a 429 that comes anyway is
waited out exactly (`retry_after`) and retried. Process-local: replicas share the limits later via Redis.

Answers to what the user just did go first: the engine's messages (status edits, deliveries) are sent `in_background`,
take only a turn nobody else wants, and an edit of a status message that a newer edit of the same message has
overtaken while it waited is dropped, so only the latest state goes out. Callback answers never wait."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendChatAction, TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)
MESSAGE_PREFIXES = ("send", "edit", "copy", "forward")  # methods that put or change a message in a chat


_background: ContextVar[bool] = ContextVar("telegram_background", default=False)


@contextmanager
def in_background() -> Iterator[None]:
    """Requests made inside yield their turn to the user's own answers (see the module's docstring)."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


class Pace:
    """Generic cell rate algorithm: `rate` per second, `burst` at once. `reserve()` says how long to wait."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self.clock = clock
        self._tat = 0.0  # theoretical arrival time of the next message

    def reserve(self) -> float:
        delay = self.wait_time()
        self._tat = max(self._tat, self.clock()) + self.interval
        return delay

    def wait_time(self) -> float:
        """How long until a turn is free, without taking it."""
        now = self.clock()
        return max(0.0, max(self._tat, now) - self.tolerance - now)

    def hold_off(self, seconds: float) -> None:
        """Telegram asked us to wait: nothing goes out before then."""
        self._tat = max(self._tat, self.clock() + seconds)


class FloodControl(BaseRequestMiddleware):
    def __init__(self, global_rate: float = 25.0, chat_rate: float = 1.0, chat_burst: int = 3,
                 max_retries: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.global_pace = Pace(global_rate, int(global_rate), clock)
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self.max_retries = max_retries
        self._chats: dict[Any, Pace] = {}
        self._latest_edit: dict[tuple[Any, Any], int] = {}  # (chat, message) → the newest background edit's number
        self._edits = 0

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        for attempt in range(self.max_retries + 1):
            if _background.get():
                if not await self._wait_background_turn(method):
                    return True  # a newer edit of the same message overtook this one: it is never sent
            else:
                await self._wait_turn(method)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.max_retries:
                    raise
                log.warning("Telegram flood control on %s: waiting %s s", method.__api_method__, exc.retry_after)
                chat = self._chat_pace(method)
                if chat is not None:
                    chat.hold_off(exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except TelegramBadRequest as exc:
                # A press answered too late is simply over: the user already sees the result of it.
                if isinstance(method, AnswerCallbackQuery) and "query is too old" in exc.message:
                    log.info("callback query answered too late; ignored")
                    return True
                raise
        raise AssertionError("unreachable")

    async def _wait_turn(self, method: TelegramMethod[Any]) -> None:
        if not _is_message(method):
            return
        chat = self._chat_pace(method)
        delay = max(self.global_pace.reserve(), chat.reserve() if chat else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _wait_background_turn(self, method: TelegramMethod[Any]) -> bool:
        """Wait for a turn no answer to a user wants. False when the edit was overtaken while it waited."""
        if not _is_message(method):
            return True
        edit = self._edit_number(method)
        chat = self._chat_pace(method)
        while True:
            delay = max(self.global_pace.wait_time(), chat.wait_time() if chat else 0.0)
            if delay <= 0:
                break
            await asyncio.sleep(delay)
            if edit is not None and self._latest_edit.get(edit[0]) != edit[1]:
                return False
        if edit is not None and self._latest_edit.get(edit[0]) == edit[1]:
            del self._latest_edit[edit[0]]
        self.global_pace.reserve()
        if chat is not None:
            chat.reserve()
        return True

    def _edit_number(self, method: TelegramMethod[Any]) -> tuple[tuple[Any, Any], int] | None:
        if not isinstance(method, EditMessageText):
            return None
        self._edits += 1
        key = (method.chat_id, method.message_id)
        self._latest_edit[key] = self._edits
        return key, self._edits

    def _chat_pace(self, method: TelegramMethod[Any]) -> Pace | None:
        chat_id = getattr(method, "chat_id", None)
        if chat_id is None:
            return None
        if chat_id not in self._chats:
            if len(self._chats) > 100_000:  # forget idle chats now and then
                self._chats.clear()
            self._chats[chat_id] = Pace(self.chat_rate, self.chat_burst, self.clock)
        return self._chats[chat_id]


def _is_message(method: TelegramMethod[Any]) -> bool:
    name = method.__api_method__
    return name.startswith(MESSAGE_PREFIXES) and not isinstance(method, SendChatAction)
