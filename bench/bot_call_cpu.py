"""The bot's own CPU per Bot API call: aiogram's stock `AiohttpSession` beside kiebot's `JsonBodySession`
(`kiebot/bot/session.py`), each sending a wizard screen (text and a 6-button keyboard) to a local HTTP server that
answers as Telegram does (the sent message, keyboard included). The server runs in a child process, so only the
calling side is counted. Prints figures; asserts nothing.

    .venv/bin/python bench/bot_call_cpu.py [--calls 5000] [--rounds 4]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.session.base import BaseSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.utils.keyboard import InlineKeyboardBuilder  # noqa: E402
from aiohttp import web  # noqa: E402

from kiebot.bot.session import JsonBodySession  # noqa: E402

TEXT = "Nano Banana · step 2 of 3\n<b>Format</b> (optional)\nFile format of the output image"
LABELS = ("✓ png", "jpeg", "⏭ Keep the default", "⏩ Defaults for all the rest", "◀ Back", "✖ Cancel")


def answer_body() -> bytes:
    buttons = [{"text": label, "callback_data": f"w:{i}"} for i, label in enumerate(LABELS)]
    rows = [buttons[0:2], buttons[2:3], buttons[3:4], buttons[4:6]]
    return json.dumps({"ok": True, "result": {
        "message_id": 5, "date": 1_700_000_000, "chat": {"id": 1, "type": "private"},
        "from": {"id": 2, "is_bot": True, "first_name": "KIE bot"}, "text": TEXT,
        "reply_markup": {"inline_keyboard": rows}}}).encode()


def serve(port: int) -> None:
    body = answer_body()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


async def cpu_ms_per_call(session: BaseSession, calls: int) -> float:
    bot = Bot("123:bench", session=session)
    keyboard = InlineKeyboardBuilder()
    for i, label in enumerate(LABELS):
        keyboard.button(text=label, callback_data=f"w:{i}")
    keyboard.adjust(2, 1, 1, 2)
    markup = keyboard.as_markup()
    try:
        for _ in range(200):  # warm-up: connections, cached response types
            await bot.send_message(1, TEXT, reply_markup=markup, parse_mode="HTML")
        started = time.process_time()
        for _ in range(calls):
            await bot.send_message(1, TEXT, reply_markup=markup, parse_mode="HTML")
        return 1000 * (time.process_time() - started) / calls
    finally:
        await session.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4, help="alternating runs of each session")
    args = parser.parse_args(argv)
    port = free_port()
    server = multiprocessing.Process(target=serve, args=(port,), daemon=True)
    server.start()
    api = TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")
    sessions: dict[str, Callable[[], BaseSession]] = {
        "aiogram AiohttpSession": lambda: AiohttpSession(api=api),
        "kiebot JsonBodySession": lambda: JsonBodySession(api=api),
    }
    try:
        time.sleep(1.0)  # the server starts
        figures: dict[str, list[float]] = {name: [] for name in sessions}
        for _ in range(args.rounds):
            for name, make in sessions.items():
                figures[name].append(asyncio.run(cpu_ms_per_call(make(), args.calls)))
    finally:
        server.terminate()
    print(f"Bot API call, the caller's CPU (sendMessage with a 6-button keyboard, {args.calls} calls × "
          f"{args.rounds} rounds):")
    for name, values in figures.items():
        print(f"  {name:<24} median {sorted(values)[len(values) // 2]:.3f} ms, runs "
              + ", ".join(f"{v:.3f}" for v in values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
