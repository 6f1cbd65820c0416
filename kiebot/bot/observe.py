"""The bot's two measuring points: every update (count and handling time, by type) as the dispatcher's outermost
middleware, and every Telegram 429 as a middleware of the Bot's session, inside the pacing that waits and retries,
so each 429 is counted once."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update

from kiebot.metrics import Metrics


class UpdateMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            self.metrics.updates.labels(kind).inc()
            self.metrics.update_seconds.labels(kind).observe(time.perf_counter() - started)


class TelegramMetrics(BaseRequestMiddleware):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            self.metrics.telegram_429.labels(method.__api_method__).inc()
            raise


def instrument(dispatcher: Dispatcher, bot: Bot, metrics: Metrics) -> None:
    """Add both measuring points; call after the bot's other session middlewares (this one must be innermost)."""
    dispatcher.update.outer_middleware(UpdateMetrics(metrics))
    bot.session.middleware(TelegramMetrics(metrics))
