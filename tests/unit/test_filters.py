"""Every filter and handler the bot registers is a coroutine: aiogram runs the others in a worker thread."""
from __future__ import annotations

from collections.abc import Iterator

from aiogram import Dispatcher, F, Router
from aiogram.types import Message

from kiebot.bot.filters import Magic
from kiebot.bot.handlers import build_routers


def _routers(router: Router) -> Iterator[Router]:
    yield router
    for sub in router.sub_routers:
        yield from _routers(sub)


def test_no_filter_or_handler_runs_in_a_thread() -> None:
    dp = Dispatcher()
    dp.include_routers(*build_routers())
    in_threads = [
        f"{router.name}.{name}: {handler.callback.__name__} {what}"
        for router in _routers(dp) for name, observer in router.observers.items()
        for handler in observer.handlers
        for what in [handler.callback, *(f.callback for f in handler.filters or [])]
        if not (handler.awaitable and all(f.awaitable for f in handler.filters or []))
    ]
    assert in_threads == []


async def test_magic_resolves_a_magic_filter_on_the_loop() -> None:
    paid = Magic(F.text == "paid")
    message = Message.model_validate({"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                                      "text": "paid"})
    assert await paid(message) is True
    assert await paid(message.model_copy(update={"text": "other"})) is False
