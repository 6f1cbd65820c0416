"""``FakeTelegram``: the fake Telegram a test starts — its state, its Bot API server on 127.0.0.1 and the
user side — behind one object. Use as ``async with FakeTelegram() as tg``; the bot under test talks to
``tg.base_url``, the test acts through ``tg.send_text(user, ...)``, ``tg.click(user, ...)`` and waits with
``tg.wait_for_screen`` / ``tg.wait_for_message``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from .telegram_server import BotApiServer, RecordedCall
from .telegram_state import FakeMessage, FloodLimits, StoredFile, TelegramState
from .telegram_user import FakeUser, UserDriver
from .telegram_webhook import Delivery

JSON = dict[str, Any]


class FakeTelegram(UserDriver):
    """Fake Bot API server plus the user-side test API."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        flood: FloodLimits | None = None,
        fetch_urls: bool = True,
        fetch_timeout: float = 3.0,
        callback_query_ttl: float = 15.0,
        known_chats_only: bool = False,
        bot_username: str = "kiebot_test_bot",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        bot_id = int(token.split(":")[0]) if token.split(":")[0].isdigit() else 1
        bot_user: JSON = {"id": bot_id, "is_bot": True, "first_name": "KieBot Test", "username": bot_username,
                          "can_join_groups": True, "can_read_all_group_messages": False,
                          "supports_inline_queries": False}
        super().__init__(TelegramState(bot_user=bot_user, flood=flood, known_chats_only=known_chats_only,
                                       clock=clock))
        self.server = BotApiServer(self.state, token, fetch_urls=fetch_urls, fetch_timeout=fetch_timeout,
                                   callback_query_ttl=callback_query_ttl)

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        await self.server.start()

    async def close(self) -> None:
        await self.server.close()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    # ----------------------------------------------------------------- what the bot did

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[FakeMessage]:
        """Bot messages in a chat as they are now, oldest first."""
        return self.state.messages(chat_id, include_deleted=include_deleted)

    def last_message(self, chat_id: int) -> FakeMessage:
        messages = self.messages(chat_id)
        if not messages:
            raise AssertionError(f"the bot sent nothing (still visible) to chat {chat_id}")
        return messages[-1]

    @staticmethod
    def buttons(message: FakeMessage) -> list[str]:
        return message.buttons()

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Recorded requests (decoded params), optionally of one method (case-insensitive)."""
        return [c for c in self.server.calls if method is None or c.method.lower() == method.lower()]

    def chat_actions(self, chat_id: int) -> list[str]:
        return list(self.state.chat_actions.get(chat_id, []))

    @property
    def commands(self) -> dict[str, list[JSON]]:
        """Default-scope commands by language_code ("" = no language)."""
        default = json.dumps({"type": "default"}, sort_keys=True)
        return {lang: cmds for (scope, lang), cmds in self.state.commands.items() if scope == default}

    def file(self, file_id: str) -> StoredFile:
        return self.state.files[file_id]

    @property
    def callback_answers(self) -> dict[str, JSON]:
        """The bot's answers by callback query id."""
        return self.state.callback_answers

    @property
    def charges(self) -> dict[str, JSON]:
        """Payments by telegram_payment_charge_id (with "user_id", "user", "date" and "refunded")."""
        return self.state.charges

    @property
    def star_transactions(self) -> list[JSON]:
        """The bot's Star transactions as getStarTransactions lists them (oldest first)."""
        return list(self.state.star_transactions)

    @property
    def count_429(self) -> int:
        return self.state.count_429

    @property
    def url_fetches(self) -> list[tuple[str, int | None]]:
        """Files fetched for send-by-URL: (url, bytes fetched or None)."""
        return self.server.url_fetches

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by the bot."""
        return list(self.state.updates)

    @property
    def webhook_url(self) -> str | None:
        """The URL set with setWebhook (None: the bot polls)."""
        return self.server.webhook.url

    @property
    def webhook_deliveries(self) -> list[Delivery]:
        """Every POST of a queued update to the webhook, with the status the bot answered (0: no answer)."""
        return list(self.server.webhook.deliveries)

    async def post_to_webhook(self, update: JSON, *, secret: str | None = "") -> int:
        """POST an update to the bot's webhook now, with ``secret`` as the secret token ("": the one set with
        setWebhook, None: no header); returns the HTTP status. The queue is not involved: a test uses it to
        deliver an update again or to send a forged one."""
        webhook = self.server.webhook
        return await webhook.post(update, webhook.secret if secret == "" else secret)

    # ----------------------------------------------------------------- how Telegram behaves

    def add_chat(self, user: FakeUser) -> None:
        """Make a chat known without a message (for ``known_chats_only``)."""
        self.state.chats[user.id] = user.as_chat()

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: every send to them fails with 403."""
        self.state.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.state.blocked.discard(chat_id)

    def reset_flood(self) -> None:
        """Refill all flood buckets (e.g. after a test provoked a 429)."""
        self.state.reset_flood()

    def fail_next(self, method: str, error_code: int = 500, description: str = "Internal Server Error",
                  *, retry_after: int | None = None, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with this error."""
        self.server.fail_next(method, error_code, description, retry_after=retry_after, times=times)
