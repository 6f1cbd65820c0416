"""Root filters derived from each router's handlers (`bot/routing.py`)."""
from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Chat, Message, User

from kiebot.bot.handlers import build_routers
from kiebot.bot.routing import CallbackPrefixes, IsCommand, narrow

USER = User(id=1, is_bot=False, first_name="A")


class PickCB(CallbackData, prefix="pick"):
    value: str


class GoCB(CallbackData, prefix="go"):
    pass


def _query(data: str) -> CallbackQuery:
    return CallbackQuery(id="1", from_user=USER, chat_instance="c", data=data)


def _message(text: str | None = None, caption: str | None = None) -> Message:
    return Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=1, type="private"), from_user=USER,
                   text=text, caption=caption)


async def _noop(*_: object) -> None:
    pass


def _root_filters(observer: object) -> list[object]:
    return [f.callback for f in observer._handler.filters or []]  # type: ignore[attr-defined]


async def test_a_router_of_callback_data_and_commands_gets_root_filters_on_them() -> None:
    router = Router()
    router.callback_query.register(_noop, PickCB.filter(F.value == "a"))
    router.callback_query.register(_noop, GoCB.filter())
    router.message.register(_noop, Command("help"))
    narrow(router)
    (buttons,) = _root_filters(router.callback_query)
    (messages,) = _root_filters(router.message)
    assert isinstance(buttons, CallbackPrefixes) and isinstance(messages, IsCommand)
    assert await buttons(_query(PickCB(value="b").pack())) and await buttons(_query(GoCB().pack()))
    assert not await buttons(_query("picky:a")) and not await buttons(_query("other:1"))
    assert await messages(_message("/help")) and await messages(_message(caption="/help me"))
    assert not await messages(_message("a red fox")) and not await messages(_message())


def test_a_router_with_a_catch_all_handler_keeps_taking_everything() -> None:
    router = Router()
    router.callback_query.register(_noop, GoCB.filter())
    router.callback_query.register(_noop)
    router.message.register(_noop, Command("help"))
    router.message.register(_noop, F.text)
    narrow(router)
    assert _root_filters(router.callback_query) == [] and _root_filters(router.message) == []


async def test_every_packed_button_of_the_bot_passes_its_routers_root_filter() -> None:
    """No handler of the bot is hidden by its router's root filter: each CallbackData class a handler filters by
    is let through by the root filter of that handler's router."""
    for router in build_routers():
        roots = _root_filters(router.callback_query)
        for handler in router.callback_query.handlers:
            for f in handler.filters or []:
                data_class = getattr(f.callback, "callback_data", None)
                if data_class is not None and roots:
                    packed = data_class.__prefix__ + data_class.__separator__ + "1" * bool(data_class.model_fields)
                    assert all([await root(_query(packed)) for root in roots]), (router.name, data_class)
