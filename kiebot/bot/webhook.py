"""Webhook mode: Telegram POSTs each update to WEBHOOK_URL; the bot's web server takes it here.

A call must carry WEBHOOK_SECRET in `X-Telegram-Bot-Api-Secret-Token` (else 401). An update Telegram delivers again
(it retries whenever it got no 2xx in time) is handled once: its id is taken in Redis (`SET NX` with a TTL) when
REDIS_URL is set, else in the database (`seen_updates`), so replicas behind one URL agree. Telegram gets its 200 as
soon as the id is taken, and the update is handled in the background (aiogram's `handle_in_background`); on a stop
new calls get 503 (Telegram delivers them again later, or to another replica) and `drain` waits for the updates
under way.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from redis.asyncio import Redis

from kiebot.store import updates
from kiebot.store.db import Database

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PRUNE_EVERY = 600.0  # seconds between two prunes of the database's update ids


class UpdateLog(Protocol):
    async def take(self, update_id: int) -> bool:
        """True the first time an update id is seen (by any replica), False on a repeat."""
        ...


class RedisUpdateLog:
    """Update ids in Redis, each kept `ttl` seconds; the key names the bot, so bots may share one Redis."""

    def __init__(self, redis: Redis, bot_id: int, ttl: float) -> None:
        self.redis = redis
        self.prefix = f"kiebot:update:{bot_id}:"
        self.ttl = max(1, int(ttl))

    async def take(self, update_id: int) -> bool:
        return bool(await self.redis.set(f"{self.prefix}{update_id}", 1, nx=True, ex=self.ttl))


class DatabaseUpdateLog:
    """Update ids in the `seen_updates` table; ids older than `ttl` seconds are pruned now and then."""

    def __init__(self, db: Database, ttl: float, clock: Any = None) -> None:
        self.db = db
        self.ttl = ttl
        self._clock = clock or (lambda: datetime.now(UTC))
        self._pruned_at: datetime | None = None

    async def take(self, update_id: int) -> bool:
        now = self._clock()
        async with self.db.write() as session, session.begin():
            first = await updates.take_update(session, update_id, now)
            if self._pruned_at is None or now - self._pruned_at >= timedelta(seconds=PRUNE_EVERY):
                self._pruned_at = now
                await updates.prune_updates(session, now - timedelta(seconds=self.ttl))
        return first


class WebhookHandler(SimpleRequestHandler):
    """aiogram's request handler for one bot, with the once-only check and a gate closed on stop."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret: str, seen: UpdateLog, **data: Any) -> None:
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret, **data)
        self.seen = seen
        self.closed = False

    def register_on(self, app: web.Application, path: str) -> None:
        """Serve the webhook at `path`. (aiogram's `register` would also close the bot's session when the web
        server stops, which the App does itself after the job worker has finished sending.)"""
        app.router.add_post(path, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            log.warning("webhook call refused: wrong or missing secret token")
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.closed:
            return web.json_response({"error": "stopping"}, status=503)
        update_id = _update_id(await request.read())
        if update_id is None:
            return web.json_response({"error": "a JSON update with an update_id is required"}, status=400)
        try:
            first = await self.seen.take(update_id)
        except Exception as exc:  # Telegram delivers it again later: nothing is lost, nothing handled twice
            log.error("webhook: cannot check update %d (%s); answering 503", update_id, type(exc).__name__)
            return web.json_response({"error": "try again"}, status=503)
        if not first:
            log.info("webhook: update %d was delivered again; already taken", update_id)
            return web.json_response({})
        return await super().handle(request)

    @property
    def in_flight(self) -> int:
        """Updates being handled in the background now."""
        return len(self._background_feed_update_tasks)

    async def drain(self, timeout: float = 30.0) -> None:
        """Take no new update (503) and wait for those being handled."""
        self.closed = True
        running = list(self._background_feed_update_tasks)
        if running:
            log.info("waiting for %d update(s) being handled", len(running))
            await asyncio.wait(running, timeout=timeout)


def _update_id(raw: bytes) -> int | None:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    value = body.get("update_id") if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def ensure_webhook(bot: Bot, url: str, secret: str, allowed_updates: list[str]) -> bool:
    """Point Telegram at `url` unless it already is: replicas starting one after another do not each set it again
    (and do not make Telegram drop its connections). Returns whether setWebhook was called."""
    info = await bot.get_webhook_info()
    if info.url == url and sorted(info.allowed_updates or []) == sorted(allowed_updates):
        log.info("webhook already set to this URL")
        return False
    await bot.set_webhook(url, secret_token=secret, allowed_updates=allowed_updates)
    log.info("webhook set (Telegram had %s)", "another URL" if info.url else "none")
    return True


async def drop_stale_webhook(bot: Bot) -> None:
    """Polling gets 409 while a webhook is set: delete one left from webhook mode (updates stay queued). Raises
    RuntimeError saying why when it cannot be deleted; when Telegram cannot be asked, polling goes on (it retries,
    and reports a webhook it then meets)."""
    try:
        info = await bot.get_webhook_info()
    except TelegramAPIError as exc:
        log.warning("could not ask Telegram whether a webhook is set (%s); polling anyway", exc.message)
        return
    if not info.url:
        return
    log.warning("a webhook is set while WEBHOOK_URL is not: deleting it to poll (set WEBHOOK_URL to keep webhook "
                "mode)")
    try:
        await bot.delete_webhook(drop_pending_updates=False)
    except TelegramAPIError as exc:
        raise RuntimeError(f"a webhook is set and Telegram refused to delete it ({exc.message}); polling would only "
                           "get 409 Conflict: set WEBHOOK_URL to run in webhook mode, or delete the webhook") from None
