"""Outgoing Telegram traffic within Telegram's limits: ~30 messages/s overall, ~1/s per chat with short
bursts (PLATFORM.md). Messages wait for their turn instead of earning a 429; a 429 that comes anyway is
waited out exactly (`retry_after`) and retried. The turns come from `pace.Paces`: this process's own, or with
`REDIS_URL` the ones every replica shares.

Answers to what the user just did go first: the engine's messages (status edits, deliveries) are sent `in_background`,
take only a turn nobody else wants, and an edit of a status message that a newer edit of the same message has
overtaken while it waited is dropped, so only the latest state goes out (a job's status edits come from the one
worker holding its lease, so this bookkeeping stays in the process). Callback answers never wait."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from weakref import WeakValueDictionary

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendChatAction, TelegramMethod
from aiogram.methods.base import TelegramType

from kiebot.bot.pace import MemoryPaces, Paces

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


class FloodControl(BaseRequestMiddleware):
    def __init__(self, global_rate: float = 25.0, chat_rate: float = 1.0, chat_burst: int = 3,
                 max_retries: int = 3, clock: Callable[[], float] = time.monotonic,
                 paces: Paces | None = None) -> None:
        self.paces = paces or MemoryPaces(global_rate, chat_rate, chat_burst, clock)
        self.max_retries = max_retries
        self._latest_edit: dict[tuple[Any, Any], int] = {}  # (chat, message) → the newest background edit's number
        self._edits = 0
        self._sending: WeakValueDictionary[Any, asyncio.Lock] = WeakValueDictionary()  # a chat's one message under way

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        for attempt in range(self.max_retries + 1):
            try:
                if not _is_message(method):
                    return await make_request(bot, method)
                return await self._send_paced(make_request, bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.max_retries:
                    raise
                log.warning("Telegram flood control on %s: waiting %s s", method.__api_method__, exc.retry_after)
                await self.paces.hold_off(getattr(method, "chat_id", None), exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except TelegramBadRequest as exc:
                # A press answered too late is simply over: the user already sees the result of it.
                if isinstance(method, AnswerCallbackQuery) and "query is too old" in exc.message:
                    log.info("callback query answered too late; ignored")
                    return True
                raise
        raise AssertionError("unreachable")

    async def _send_paced(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                          method: TelegramMethod[TelegramType]) -> Any:
        """Send a message in its turn. Telegram counts a message when it arrives, the pace when it gives the turn;
        a message held up on its way (a busy event loop, the network) would let the next ones, sent in their turns,
        arrive closer together than the pace allowed. So in each chat one message is under way at a time (in this
        process), takes its turn only after the one before was answered, and counts from its answer on."""
        chat = getattr(method, "chat_id", None)
        lock = self._chat_lock(chat)
        if not _background.get():
            async with lock:  # held while waiting: the engine's messages to the chat wait behind the user's answers
                if (delay := await self.paces.reserve(chat)) > 0:
                    await asyncio.sleep(delay)
                return await self._send_counted(make_request, bot, method, chat)
        edit = self._edit_number(method)
        while True:  # a turn nobody else wants, waited for without holding the chat
            async with lock:
                if (delay := await self.paces.take_if_free(chat)) <= 0:
                    if edit is not None and self._latest_edit.get(edit[0]) == edit[1]:
                        del self._latest_edit[edit[0]]
                    return await self._send_counted(make_request, bot, method, chat)
            await asyncio.sleep(delay)
            if edit is not None and self._latest_edit.get(edit[0]) != edit[1]:
                return True  # a newer edit of the same message overtook this one: it is never sent

    async def _send_counted(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                            method: TelegramMethod[TelegramType], chat: Any) -> Any:
        try:
            return await make_request(bot, method)
        finally:
            await self.paces.answered(chat)  # Telegram counted it by now at the latest

    def _chat_lock(self, chat: Any) -> asyncio.Lock:
        """The chat's lock, kept while anyone holds or waits for it (a chatless message gets one of its own)."""
        if chat is None:
            return asyncio.Lock()
        lock = self._sending.get(chat)
        if lock is None:
            lock = self._sending[chat] = asyncio.Lock()
        return lock

    def _edit_number(self, method: TelegramMethod[Any]) -> tuple[tuple[Any, Any], int] | None:
        if not isinstance(method, EditMessageText):
            return None
        self._edits += 1
        key = (method.chat_id, method.message_id)
        self._latest_edit[key] = self._edits
        return key, self._edits


def _is_message(method: TelegramMethod[Any]) -> bool:
    name = method.__api_method__
    return name.startswith(MESSAGE_PREFIXES) and not isinstance(method, SendChatAction)
