"""App starts the web server (KIE callbacks, /health) on WEB_HOST:WEB_PORT; a busy port is not fatal."""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import aiohttp

from kiebot.app import App
from kiebot.config import Settings


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(_env_file=None, bot_token="123456:" + "A" * 35, kie_api_key="k",
                    database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", **overrides)


async def test_the_app_serves_callbacks_and_health(tmp_path: Path) -> None:
    app = App(settings(tmp_path, web_port=0, public_url="https://bot.example"))
    try:
        await app.start_web()
        assert app.web is not None and app.engine.callbacks_expected
        async with aiohttp.ClientSession() as http, http.get(f"{app.web.url}/health") as response:
            assert response.status == 200
    finally:
        await app.stop_web()
        await app.close()


async def test_a_busy_port_leaves_the_bot_polling(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        app = App(settings(tmp_path, web_port=busy.getsockname()[1], public_url="https://bot.example"))
        try:
            await app.start_web()
            assert app.web is None and not app.engine.callbacks_expected
        finally:
            await app.stop_web()
            await app.close()
