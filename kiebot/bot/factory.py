"""Factories for the Bot and the Dispatcher: no module-level Bot, routers built per dispatcher."""
from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation
from aiogram.fsm.strategy import FSMStrategy
from aiogram.types import BotCommand, BotCommandScopeDefault
from redis.asyncio import Redis

from kiebot.bot.deps import AppServices
from kiebot.bot.flood import FloodControl
from kiebot.bot.handlers import build_routers
from kiebot.bot.i18n import LANGUAGES, Translator
from kiebot.bot.middlewares import LogContext, OfferedCatalogMiddleware, PrivateChatsOnly, UserMiddleware
from kiebot.bot.pace import Paces
from kiebot.bot.responses import KeepResponseTypes
from kiebot.bot.session import JsonBodySession
from kiebot.config import Settings
from kiebot.store.fsm import SqlStorage

COMMANDS = ("start", "models", "balance", "topup", "history", "promo", "language", "help", "paysupport", "terms",
            "cancel")


def create_bot(settings: Settings, paces: Paces | None = None) -> Bot:
    """`paces`: the turns shared by replicas (Redis); None: this process's own, at the configured rates."""
    assert settings.bot_token is not None
    session = JsonBodySession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(KeepResponseTypes())
    session.middleware(FloodControl(settings.telegram_global_rate, settings.telegram_chat_rate,
                                    settings.telegram_chat_burst, paces=paces))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(services: AppServices, *, storage: BaseStorage, redis: Redis | None = None) -> Dispatcher:
    """Every field of `services` reaches handlers and middlewares by its name. With `redis` the one-update-at-a-time
    lock per user holds across replicas (in webhook mode two updates of a user may reach two replicas)."""
    dp = Dispatcher(
        storage=storage,
        fsm_strategy=FSMStrategy.USER_IN_CHAT,
        # One update at a time per user: parts of a long text must not race each other. With the SQL storage the
        # same lock scopes the update's one read of its FSM row.
        events_isolation=_isolation(storage, redis),
        **services.as_kwargs(),
    )
    dp.update.outer_middleware(LogContext())
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(PrivateChatsOnly(storage, services.translator))
        observer.outer_middleware(UserMiddleware(services))
        observer.outer_middleware(OfferedCatalogMiddleware(services.offering))
    dp.include_routers(*build_routers())
    return dp


def _isolation(storage: BaseStorage, redis: Redis | None) -> BaseEventIsolation:
    inner = RedisEventIsolation(redis) if redis is not None else SimpleEventIsolation()
    return storage.isolation(inner) if isinstance(storage, SqlStorage) else inner


async def register_commands(bot: Bot, translator: Translator) -> None:
    """The command menu, in Russian and English (and the default language for everyone else)."""
    for lang in LANGUAGES:
        commands = [BotCommand(command=c, description=translator.get(lang, f"cmd-{c}")) for c in COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
    default = [BotCommand(command=c, description=translator.get(translator.default_language, f"cmd-{c}")) for c in COMMANDS]
    await bot.set_my_commands(default, scope=BotCommandScopeDefault())
