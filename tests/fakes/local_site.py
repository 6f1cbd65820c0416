"""Serving an aiohttp application on 127.0.0.1, on a free port, for fakes and test servers."""
from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, str]:
    """Start `app`; returns its runner (``await runner.cleanup()`` stops it) and its base URL."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"
