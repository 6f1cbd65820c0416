"""Webhook delivery of the fake Telegram: after ``setWebhook`` queued updates are POSTed to the bot's URL with
``X-Telegram-Bot-Api-Secret-Token``, as Telegram does.

Like Telegram: an update is confirmed (dropped from the queue) only by a 2xx answer, and anything else — an error
status, a refused connection, a timeout — makes it come again after a pause, so the bot may see an ``update_id``
twice; up to ``max_connections`` calls run at once. Updates of one chat go one after another (the next only after
the previous got its 2xx) so a test's actions reach the bot in the order it made them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from .telegram_state import TelegramState

JSON = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Delivery:
    """One POST of an update to the webhook: the HTTP status, or 0 when no answer came."""

    update_id: int
    status: int


class WebhookDelivery:
    """The webhook Telegram has for the bot, and the loop that delivers queued updates to it."""

    def __init__(self, state: TelegramState, *, retry_delay: float = 0.3, timeout: float = 10.0) -> None:
        self.state = state
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.url: str | None = None
        self.secret: str | None = None
        self.max_connections = 40
        self.allowed_updates: list[str] | None = None
        self.last_error: tuple[int, str] | None = None  # (unix time, message), as getWebhookInfo reports it
        self.deliveries: list[Delivery] = []
        self._http: ClientSession | None = None
        self._loop: asyncio.Task[None] | None = None
        self._sending: dict[int, asyncio.Task[None]] = {}  # update_id → its POST
        self._retry_at: dict[int, float] = {}  # update_id → when it may be sent again

    def set(self, url: str, secret: str | None, max_connections: int, allowed_updates: list[str] | None) -> None:
        self.url, self.secret, self.max_connections = url, secret, max_connections
        if allowed_updates is not None:
            self.allowed_updates = allowed_updates
            self.state.allowed_updates = set(allowed_updates) or None
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._deliver_forever(), name="fake-telegram-webhook")
        self.state.touch()

    def delete(self) -> None:
        self.url = self.secret = None
        self.state.touch()

    def info(self) -> JSON:
        data: JSON = {"url": self.url or "", "has_custom_certificate": False,
                      "pending_update_count": len(self.state.updates)}
        if self.url:
            data["max_connections"] = self.max_connections
            if self.allowed_updates is not None:
                data["allowed_updates"] = self.allowed_updates
        if self.last_error is not None:
            data["last_error_date"], data["last_error_message"] = self.last_error
        return data

    async def post(self, update: JSON, secret: str | None) -> int:
        """POST one update to the webhook URL now (0 when no answer came); it leaves no trace in the queue."""
        if self.url is None:
            raise AssertionError("no webhook is set")
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if self._http is None:
            self._http = ClientSession()
        try:
            async with self._http.post(self.url, json=update, headers=headers,
                                       timeout=ClientTimeout(total=self.timeout)) as response:
                await response.read()
                return response.status
        except (ClientError, TimeoutError):
            return 0

    async def close(self) -> None:
        self.url = None
        tasks = [t for t in (self._loop, *self._sending.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.close()

    # ----------------------------------------------------------------- the loop

    async def _deliver_forever(self) -> None:
        while self.url is not None:
            self._start_due()
            await self.state.changed(self.retry_delay)

    def _start_due(self) -> None:
        busy_chats = {_chat_of(u) for u in self.state.updates if u["update_id"] in self._sending}
        now = time.monotonic()
        for update in self.state.pending_updates(0, 100):
            update_id, chat = update["update_id"], _chat_of(update)
            if len(self._sending) >= self.max_connections:
                return
            if update_id in self._sending or chat in busy_chats:
                busy_chats.add(chat)  # a later update of this chat waits for this one
                continue
            busy_chats.add(chat)
            if self._retry_at.get(update_id, 0.0) > now:
                continue
            self._sending[update_id] = asyncio.create_task(self._send(update))

    async def _send(self, update: JSON) -> None:
        update_id = update["update_id"]
        try:
            status = await self.post(update, self.secret)
            self.deliveries.append(Delivery(update_id, status))
            if 200 <= status < 300:
                self.state.updates = [u for u in self.state.updates if u["update_id"] != update_id]
                self._retry_at.pop(update_id, None)
            else:
                message = f"Wrong response from the webhook: {status}" if status else "Connection refused"
                self.last_error = (int(time.time()), message)
                self._retry_at[update_id] = time.monotonic() + self.retry_delay
        finally:
            self._sending.pop(update_id, None)
            self.state.touch()


def _chat_of(update: JSON) -> Any:
    """The chat an update belongs to (its ordering key); an update of no chat is its own key."""
    for kind in ("message", "edited_message", "callback_query", "pre_checkout_query"):
        event = update.get(kind)
        if isinstance(event, dict):
            chat = (event.get("message") or event).get("chat") or event.get("from") or {}
            if "id" in chat:
                return chat["id"]
    return ("update", update["update_id"])
