"""Factories for the Bot and the Dispatcher: no module-level Bot, routers built per dispatcher."""
from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.strategy import FSMStrategy
from aiogram.types import BotCommand, BotCommandScopeDefault

from kiebot.bot.deps import AppServices
from kiebot.bot.flood import FloodControl
from kiebot.bot.handlers import build_routers
from kiebot.bot.i18n import LANGUAGES, Translator
from kiebot.bot.middlewares import LogContext, OfferedCatalogMiddleware, PrivateChatsOnly, UserMiddleware
from kiebot.config import Settings

COMMANDS = ("start", "models", "balance", "topup", "history", "promo", "language", "help", "paysupport", "terms",
            "cancel")


def create_bot(settings: Settings) -> Bot:
    assert settings.bot_token is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(FloodControl(settings.telegram_global_rate, settings.telegram_chat_rate,
                                    settings.telegram_chat_burst))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(services: AppServices, *, storage: BaseStorage) -> Dispatcher:
    """Every field of `services` reaches handlers and middlewares by its name."""
    dp = Dispatcher(
        storage=storage,
        fsm_strategy=FSMStrategy.USER_IN_CHAT,
        # One update at a time per user: parts of a long text must not race each other.
        events_isolation=SimpleEventIsolation(),
        **services.as_kwargs(),
    )
    dp.update.outer_middleware(LogContext())
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(PrivateChatsOnly(storage, services.translator))
        observer.outer_middleware(UserMiddleware(services))
        observer.outer_middleware(OfferedCatalogMiddleware(services.offering))
    dp.include_routers(*build_routers())
    return dp


async def register_commands(bot: Bot, translator: Translator) -> None:
    """The command menu, in Russian and English (and the default language for everyone else)."""
    for lang in LANGUAGES:
        commands = [BotCommand(command=c, description=translator.get(lang, f"cmd-{c}")) for c in COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
    default = [BotCommand(command=c, description=translator.get(translator.default_language, f"cmd-{c}")) for c in COMMANDS]
    await bot.set_my_commands(default, scope=BotCommandScopeDefault())
