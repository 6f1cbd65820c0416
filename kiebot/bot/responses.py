"""Keeps aiogram's `Response[T]` classes alive, so each is built once per process instead of on most calls.

aiogram's `BaseSession.check_response` parametrizes `Response[method.__returning__]` for every API call. pydantic
caches parametrized generic models only weakly (`pydantic._internal._generics._GENERIC_TYPES_CACHE`, a
`WeakValueDictionary`), so as soon as the garbage collector has run the class is gone and the next call builds it
again: a few milliseconds of schema building per call (aiogram 3.31, pydantic 2.13). This request middleware holds
a strong reference to the class of each return type it has seen; the cache then keeps answering with it.
Harmless if a later aiogram or pydantic caches these classes itself: then it only holds a few extra references.
"""
from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

# One class per return type of the Bot API methods used: a few dozen at most. Shared by every session.
_KEPT: dict[Any, type[Response[Any]]] = {}


def response_type(returning: Any) -> type[Response[Any]]:
    """`Response[returning]`, built the first time and kept from then on."""
    kept = _KEPT.get(returning)
    if kept is None:
        kept = _KEPT[returning] = Response[returning]  # type: ignore[valid-type]
    return kept


class KeepResponseTypes(BaseRequestMiddleware):
    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        response_type(method.__returning__)
        return await make_request(bot, method)
