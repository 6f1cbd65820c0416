"""The Bot's HTTP session: aiogram's aiohttp session that sends each call as one JSON body and reads answers with
orjson.

aiogram builds an aiohttp `FormData` for every call (a multipart writer with a fresh boundary, then url-encoding,
with each nested object such as a keyboard dumped to a string first). Telegram accepts `application/json` bodies
just as well, and a dict dumped once by orjson costs a fraction of that. Telegram's answer echoes the keyboard of
each message sent or edited; the bot never reads it back, so it is dropped before aiogram builds objects from the
answer. `bench/bot_call_cpu.py` measures a call from the bot's side (figures in bench/README.md). A call that
uploads a file still goes as multipart form data, the one form Telegram takes files in.
"""
from __future__ import annotations

from typing import Any

import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import BytesPayload, FormData


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _loads(content: str | bytes) -> Any:
    """An answer, without the keyboard of a message the bot sent or edited: Telegram echoes it back, the bot never
    reads it, and it is most of the objects aiogram would build from the answer."""
    answer = orjson.loads(content)
    result = answer.get("result") if isinstance(answer, dict) else None
    if isinstance(result, dict):
        result.pop("reply_markup", None)
    return answer


class JsonBodySession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(json_loads=_loads, json_dumps=_dumps, **kwargs)

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> FormData | BytesPayload:  # type: ignore[override]
        files: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":  # what aiogram's form leaves out too
                body[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        return BytesPayload(orjson.dumps(body), content_type="application/json")
