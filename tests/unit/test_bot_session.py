"""The Bot's HTTP session (`kiebot/bot/session.py`): JSON bodies, files as multipart, answers read without the
echoed keyboard."""
from __future__ import annotations

import json
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web

from kiebot.bot.session import JsonBodySession

MARKUP = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="◀ Back", callback_data="w:back")]])


async def _telegram(seen: list[dict[str, Any]]) -> tuple[web.AppRunner, str]:
    """Records each request's method, content type and fields; answers with a message carrying a keyboard."""

    async def handle(request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            fields = await request.json()
        else:
            form = await request.post()
            fields = {k: (v if isinstance(v, str) else f"<file {v.filename}>") for k, v in form.items()}
        seen.append({"method": request.path.rsplit("/", 1)[-1], "type": request.content_type, "fields": fields})
        message = {"message_id": 7, "date": 1_700_000_000, "chat": {"id": 42, "type": "private"},
                   "text": "hi", "reply_markup": MARKUP.model_dump(exclude_none=True)}
        return web.json_response({"ok": True, "result": message})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_a_call_goes_as_one_json_body_with_typed_and_nested_values() -> None:
    seen: list[dict[str, Any]] = []
    runner, url = await _telegram(seen)
    bot = Bot("123:abc", session=JsonBodySession(api=TelegramAPIServer.from_base(url)),
              default=DefaultBotProperties(parse_mode="HTML"))
    try:
        sent = await bot.send_message(42, "hi", reply_markup=MARKUP, disable_notification=True)
    finally:
        await bot.session.close()
        await runner.cleanup()
    (call,) = seen
    assert call["method"] == "sendMessage" and call["type"] == "application/json"
    assert call["fields"] == {"chat_id": 42, "text": "hi", "parse_mode": "HTML", "disable_notification": True,
                              "reply_markup": {"inline_keyboard": [[{"text": "◀ Back", "callback_data": "w:back"}]]}}
    # The answer is read as a Message, without the keyboard Telegram echoed back.
    assert sent.message_id == 7 and sent.text == "hi" and sent.reply_markup is None


async def test_a_call_with_a_file_goes_as_multipart_form_data() -> None:
    seen: list[dict[str, Any]] = []
    runner, url = await _telegram(seen)
    bot = Bot("123:abc", session=JsonBodySession(api=TelegramAPIServer.from_base(url)))
    try:
        await bot.send_photo(42, BufferedInputFile(b"\x89PNG...", "cat.png"), caption="a cat", reply_markup=MARKUP)
    finally:
        await bot.session.close()
        await runner.cleanup()
    (call,) = seen
    assert call["type"] == "multipart/form-data"
    fields = call["fields"]
    assert fields["chat_id"] == "42" and fields["caption"] == "a cat"
    assert fields["photo"].startswith("attach://") and json.loads(fields["reply_markup"])["inline_keyboard"]
    assert any(value == "<file cat.png>" for value in fields.values())
