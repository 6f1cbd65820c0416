"""Update middlewares: the log context, private chats only, the user and their language, and the catalogue as offered right now.

No middleware keeps a database session open around the handler: each service runs its own short unit of work,
so no update holds a transaction (or a pooled connection) while it talks to Telegram.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject
from aiogram.types import User as TgUser

from kiebot.bot.deps import AppServices
from kiebot.bot.drafts import Forms
from kiebot.bot.i18n import Translator
from kiebot.logs import bound
from kiebot.services.offering import Offering

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class LogContext(BaseMiddleware):
    """Every log line written while an update is handled names the update and the user (`kiebot.logs.bound`)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        with bound(update=getattr(event, "update_id", None), user=tg_user.id if tg_user else None):
            return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    """Get-or-create the user (`user`: a `Profile`), then pick the language: the user's choice, Telegram's, the
    default. Hands handlers `user`, `lang`, `tr`, `is_admin` and `forms` (to open the user's forms)."""

    def __init__(self, services: AppServices) -> None:
        self.services = services
        self.admin_ids = set(services.settings.admin_ids)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        services = self.services
        user = await services.accounts.enter(tg_user.id, tg_user.username, tg_user.first_name)
        lang = services.translator.resolve_language(user.language, tg_user.language_code)
        tr = services.translator.bind(lang)
        data.update(user=user, lang=lang, tr=tr, is_admin=tg_user.id in self.admin_ids)
        if "state" in data:
            data["forms"] = Forms(data["state"], tr, lang, user, services.accounts, services.generation,
                                  services.money)
        return await handler(event, data)


class OfferedCatalogMiddleware(BaseMiddleware):
    """Hands handlers `catalog`: the catalogue without the models KIE has disabled at run time."""

    def __init__(self, offering: Offering) -> None:
        self.offering = offering

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["catalog"] = await self.offering.current()
        return await handler(event, data)


class PrivateChatsOnly(BaseMiddleware):
    """The bot works in private chats only. In a group it says so once (remembered in the FSM storage, so every
    replica knows) and ignores everything else there."""

    def __init__(self, storage: BaseStorage, translator: Translator) -> None:
        self.storage = storage
        self.translator = translator

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is None or chat.type == ChatType.PRIVATE:
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer()
        elif isinstance(event, Message):
            await self._tell_once(data["bot"], chat, data.get("event_from_user"))
        return None

    async def _tell_once(self, bot: Bot, chat: Chat, user: TgUser | None) -> None:
        key = StorageKey(bot_id=bot.id, chat_id=chat.id, user_id=0)  # the chat itself: no user has id 0
        if await self.storage.get_data(key):
            return
        await self.storage.set_data(key, {"told": True})
        lang = self.translator.resolve_language(None, user.language_code if user else None)
        await bot.send_message(chat.id, self.translator.get(lang, "private-only"))
