"""`Response[T]` classes are built once per process, not again after each garbage collection."""
from __future__ import annotations

import gc
import weakref

from aiogram.methods import Response, SendMessage
from aiogram.types import Message
from pydantic._internal import _generics

from kiebot.bot.responses import KeepResponseTypes, response_type


def test_a_kept_response_type_outlives_garbage_collection(monkeypatch) -> None:
    built: list[str] = []
    create = _generics.create_generic_submodel

    def counting(name, *args, **kwargs):  # noqa: ANN001, ANN202
        built.append(name)
        return create(name, *args, **kwargs)

    monkeypatch.setattr(_generics, "create_generic_submodel", counting)
    kept = weakref.ref(response_type(list[Message]))
    gc.collect()
    assert kept() is not None and Response[list[Message]] is kept()  # what aiogram's check_response now gets
    assert response_type(list[Message]) is kept()
    assert len(built) <= 1  # built at most once (not at all if an earlier test already kept it)


async def test_the_middleware_keeps_the_type_of_each_call() -> None:
    calls = []

    async def make_request(bot, method):  # noqa: ANN001, ANN202
        calls.append(method)
        return "answer"

    method = SendMessage(chat_id=1, text="hi")
    assert await KeepResponseTypes()(make_request, None, method) == "answer"  # type: ignore[arg-type]
    kept = weakref.ref(response_type(Message))
    gc.collect()
    assert calls == [method] and kept() is Response[Message]
