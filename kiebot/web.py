"""The bot's web server (aiohttp): KIE task callbacks and a health check.

    POST /kie/callback?job=<id>   a KIE callback; verified with KIE_WEBHOOK_HMAC_KEY when set (401 otherwise),
                                  then handed to the engine as a hint (engine/callbacks.py). 200 {"outcome": ...}
    GET  /health                  200 "ok"

KIE signs a callback (when enabled in its dashboard) with `X-Webhook-Timestamp` and `X-Webhook-Signature` =
base64(HMAC-SHA256(key, taskId + "." + timestamp)); the task id is `data.taskId`, or `data.task_id` in some
families' bodies (API.md).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from kiebot.logs import bound

log = logging.getLogger(__name__)
CALLBACK_PATH = "/kie/callback"
MAX_BODY = 1024 * 1024  # a callback is a task record: small


class CallbackReceiver(Protocol):
    async def receive(self, task_id: str, job_id: int | None) -> str: ...


CALLBACKS: web.AppKey[CallbackReceiver] = web.AppKey("kie_callbacks", CallbackReceiver)
HMAC_KEY: web.AppKey[str | None] = web.AppKey("kie_webhook_hmac_key", str)


def build_web_app(callbacks: CallbackReceiver, *, hmac_key: str | None = None) -> web.Application:
    """The web app; `callbacks` is the engine's `CallbackInbox`."""
    app = web.Application(client_max_size=MAX_BODY)
    app[CALLBACKS] = callbacks
    app[HMAC_KEY] = hmac_key or None
    app.router.add_post(CALLBACK_PATH, kie_callback)
    app.router.add_get("/health", health)
    return app


async def kie_callback(request: web.Request) -> web.Response:
    body = _json_object(await request.read())
    task_id = _task_id(body) if body is not None else None
    if task_id is None:
        return web.json_response({"error": "a JSON body with data.taskId is required"}, status=400)
    key = request.app[HMAC_KEY]
    if key and not signature_ok(key, task_id, request.headers.get("X-Webhook-Timestamp", ""),
                                request.headers.get("X-Webhook-Signature", "")):
        log.warning("KIE callback for task %s refused: bad or missing signature", task_id)
        return web.json_response({"error": "bad signature"}, status=401)
    with bound(task=task_id, job=_job_id(request.query.get("job"))):
        outcome = await request.app[CALLBACKS].receive(task_id, _job_id(request.query.get("job")))
        log.info("KIE callback for task %s (job %s): %s", task_id, request.query.get("job"), outcome)
    return web.json_response({"outcome": str(outcome)})


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def signature_ok(key: str, task_id: str, timestamp: str, signature: str) -> bool:
    """Constant-time check of KIE's callback signature."""
    if not timestamp or not signature:
        return False
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.strip().encode())


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _task_id(body: dict[str, Any]) -> str | None:
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    for holder in (data, body):
        for name in ("taskId", "task_id"):
            value = holder.get(name)
            if isinstance(value, (str, int)) and str(value):
                return str(value)
    return None


def _job_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# --- serving -----------------------------------------------------------------------------------------


@dataclass
class WebServer:
    """A started web app; `url` is where it listens (port 0 picks a free one)."""

    runner: web.AppRunner
    url: str

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_web(app: web.Application, host: str, port: int) -> WebServer:
    """Serve `app` on host:port in the running loop and return at once. Raises OSError when it cannot listen."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    return WebServer(runner, f"http://{bound_host}:{bound_port}")
