"""Update middlewares: one DB session per update, the user and their language."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kiebot.bot.i18n import Translator
from kiebot.catalog import Catalog
from kiebot.catalog.model import DISABLED_REASON
from kiebot.config import Settings
from kiebot.store.db import current_session
from kiebot.store.models_status import disabled_models
from kiebot.store.users import get_or_create_user

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One unit of work per update: committed when the handler returns, rolled back when it raises."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.sessionmaker() as session:
            data["session"] = session
            token = current_session.set(session)
            try:
                result = await handler(event, data)
            except Exception:
                await session.rollback()
                raise
            finally:
                current_session.reset(token)
            await session.commit()
            return result


class UserMiddleware(BaseMiddleware):
    """Get-or-create the user row, then pick the language: the user's choice, Telegram's, the default."""

    def __init__(self, settings: Settings, translator: Translator) -> None:
        self.settings = settings
        self.translator = translator

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        session: AsyncSession = data["session"]
        user, created = await get_or_create_user(
            session,
            tg_user.id,
            username=tg_user.username,
            first_name=tg_user.first_name,
            welcome_bonus=self.settings.welcome_bonus,
        )
        if user.blocked_bot:  # they are back: deliveries may go to them again
            user.blocked_bot = False
        lang = self.translator.resolve_language(user.language, tg_user.language_code)
        data.update(user=user, user_created=created, lang=lang, tr=self.translator.bind(lang))
        data["is_admin"] = tg_user.id in self.settings.admin_ids
        await session.commit()  # the new user and their bonus are safe even if the handler fails
        return await handler(event, data)


class OfferedCatalogMiddleware(BaseMiddleware):
    """Hands handlers the catalogue without the models KIE has disabled at run time (shared through the DB)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        disabled = await disabled_models(data["session"])
        data["catalog"] = self.catalog.without(disabled, DISABLED_REASON) if disabled else self.catalog
        return await handler(event, data)
