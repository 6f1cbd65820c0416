"""Root filters for each router, derived from its handlers: an update is tried against a router's handlers only
when one of them could take it.

aiogram tries an update against every handler of every router, in order, until one matches: a typed answer of the
form passed some twenty command filters, and a pressed button was unpacked by up to eight callback-data classes,
before reaching their handlers. So a router whose every button handler filters by a `CallbackData` class gets a
root filter on those classes' prefixes, and one whose every message handler is a command gets a root filter on "a
command". Derived from the handlers, the root filters cannot drift from them; the order of routers still decides
which handler wins, exactly as before.
"""
from __future__ import annotations

from aiogram import Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.types import CallbackQuery, Message


class CallbackPrefixes(Filter):
    """Callback data packed by one of `classes` (its prefix before the separator)."""

    def __init__(self, classes: set[type[CallbackData]]) -> None:
        self.bare = {cls.__prefix__ for cls in classes}  # a class without fields packs to its prefix alone
        self.heads = tuple(cls.__prefix__ + cls.__separator__ for cls in classes)

    async def __call__(self, query: CallbackQuery) -> bool:
        data = query.data
        return data is not None and (data.startswith(self.heads) or data in self.bare)


class IsCommand(Filter):
    """A message that could pass a `Command` filter: its text (or caption) starts with the command prefix."""

    async def __call__(self, message: Message) -> bool:
        text = message.text or message.caption
        return text is not None and text.startswith("/")


def _filters(handler: HandlerObject) -> list[object]:
    return [f.callback for f in handler.filters or []]


def narrow(router: Router) -> Router:
    """Add the root filters `router`'s handlers allow (none when one of them takes anything)."""
    buttons = router.callback_query.handlers
    classes = [{f.callback_data for f in _filters(h) if isinstance(f, CallbackQueryFilter)} for h in buttons]
    if buttons and all(classes):
        router.callback_query.filter(CallbackPrefixes(set().union(*classes)))
    messages = router.message.handlers
    if messages and all(any(isinstance(f, Command) for f in _filters(h)) for h in messages):
        router.message.filter(IsCommand())
    return router
