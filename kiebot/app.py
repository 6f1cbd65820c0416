"""Running the bot: long polling plus the job worker, stopped cleanly on SIGTERM/SIGINT.

On a stop the bot stops taking updates, lets running handlers finish, and leaves every job in the
database; the next start picks them up.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

from aiogram import Bot, Dispatcher
from redis.asyncio import Redis

from kiebot.bot.deps import AppServices
from kiebot.bot.factory import create_bot, create_dispatcher, register_commands
from kiebot.bot.i18n import Translator
from kiebot.bot.notifier import TelegramNotifier
from kiebot.bot.stars import TelegramStars
from kiebot.cache import Cache, MemoryStore, RedisStore
from kiebot.catalog import Catalog
from kiebot.config import Settings
from kiebot.engine import Engine
from kiebot.kie.client import KieClient
from kiebot.services.account import AccountService
from kiebot.services.answers import InputFiles
from kiebot.services.generation import GenerationService
from kiebot.services.history import HistoryService
from kiebot.services.jobs import JobControl
from kiebot.services.money import MoneyService
from kiebot.services.next_steps import NextSteps
from kiebot.services.offering import Offering
from kiebot.services.stars import ReconcileReport
from kiebot.store import db
from kiebot.store.fsm import SqlStorage
from kiebot.web import WebServer, build_web_app, start_web

log = logging.getLogger(__name__)
USER_CACHE_SECONDS = 300.0  # how long a user's name and language are taken from the cache
UPLOAD_CACHE_SHARE = 0.5  # an upload is reused for half of UPLOAD_TTL_HOURS, so a reused link is never near expiry


def load_catalog(settings: Settings) -> Catalog:
    """The catalogue this deployment offers: the operator's override applied, and the models that need KIE
    callbacks only when KIE can reach us (PUBLIC_URL)."""
    catalog = Catalog.load(settings.catalog_path)
    return catalog if settings.callback_url else catalog.without_callback_models()


class App:
    """Everything one bot process runs, built from settings; tests start and stop it in-process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalog = load_catalog(settings)
        self.translator = Translator(settings.default_language)
        self.redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        self.engine_db = db.create_engine(settings.database_url)
        self.db = db.Database.of(self.engine_db)
        self.sessionmaker = self.db.write
        assert settings.kie_api_key is not None
        self.kie = KieClient(
            settings.kie_api_base, settings.kie_upload_base, settings.kie_api_key.get_secret_value(),
            create_limit=(settings.kie_create_per_10s, 10.0), poll_limit=(settings.kie_polls_per_second, 1.0),
            placeholder_callback_url=settings.kie_placeholder_callback_url,
        )
        money = MoneyService.of(self.db, settings, self.catalog)
        uploads = self.cache("uploads", ttl=settings.upload_ttl_hours * 3600 * UPLOAD_CACHE_SHARE)
        offering = Offering(self.db, self.catalog)
        self.services = AppServices(
            settings=settings,
            translator=self.translator,
            offering=offering,
            accounts=AccountService(self.db, settings.welcome_bonus, self.cache("users", ttl=USER_CACHE_SECONDS)),
            history=HistoryService(self.db, settings.upload_ttl_hours),
            generation=GenerationService(self.db, settings.price_markup, settings.max_active_per_user,
                                         money.free_policy),
            inputs=InputFiles(self.kie, uploads),
            money=money,
            jobs=JobControl(self.db, settings.max_active_per_user),
            next_steps=NextSteps(self.db, offering, settings.upload_ttl_hours),
        )
        self.bot: Bot = create_bot(settings)
        self.dispatcher: Dispatcher = create_dispatcher(
            self.services, storage=SqlStorage(self.db.write, reader=self.db.read))
        self.notifier = TelegramNotifier(self.bot, self.db, self.services.accounts, self.catalog, self.translator,
                                         settings)
        self.engine = Engine(sessionmaker=self.sessionmaker, kie=self.kie, catalog=self.catalog,
                             notifier=self.notifier, settings=settings)
        self.stop_event = asyncio.Event()
        self.web: WebServer | None = None

    def cache(self, name: str, ttl: float) -> Cache:
        """A cache in Redis when REDIS_URL is set (shared by replicas), else in this process's memory."""
        store = RedisStore(self.redis, prefix=f"kiebot:{name}:") if self.redis is not None else MemoryStore()
        return Cache(store, ttl)

    async def run(self) -> None:
        try:
            await register_commands(self.bot, self.translator)
        except Exception as exc:  # a menu we could not set must not keep the bot down
            log.warning("could not register the command menu: %s", type(exc).__name__)
        await self.start_web()
        worker = asyncio.create_task(self.engine.run(self.stop_event), name="job-worker")
        reconciler = asyncio.create_task(self._reconcile_payments(), name="stars-reconciliation")
        try:
            await self._poll_until_stopped()
        finally:
            self.stop_event.set()
            await self._finish_handlers()
            await worker
            await reconciler
            await self.stop_web()
            await self.close()

    async def _reconcile_payments(self) -> None:
        """At start-up and every RECONCILE_SECONDS: payments Telegram has and the ledger misses are credited, refunds
        made outside the bot are debited (`services.stars.reconcile`)."""
        while not self.stop_event.is_set():
            try:
                report = await self.services.money.reconcile(TelegramStars(self.bot))
                if report.credited or report.refunds:
                    log.warning("reconciliation: %d missed payment(s) credited, %d outside refund(s) booked",
                                len(report.credited), len(report.refunds))
                await self._tell_reconciled(report)
            except Exception as exc:  # Telegram or the database unreachable: try again next time
                log.warning("reconciliation failed: %s", type(exc).__name__)
            with suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=self.settings.reconcile_seconds)

    async def start_web(self) -> None:
        """KIE callbacks and /health on WEB_HOST:WEB_PORT. Callbacks are only hints (polling finds every result),
        so a port we cannot listen on is logged, not fatal: the engine then polls at its callback-less pace."""
        key = self.settings.kie_webhook_hmac_key
        app = build_web_app(self.engine.callbacks, hmac_key=key.get_secret_value() if key else None)
        try:
            self.web = await start_web(app, self.settings.web_host, self.settings.web_port)
        except OSError as exc:
            log.error("web server cannot listen on %s:%s (%s): no KIE callbacks, polling only",
                      self.settings.web_host, self.settings.web_port, exc)
            self.engine.callbacks_expected = False
            return
        log.info("web server listening on %s", self.web.url)

    async def stop_web(self) -> None:
        if self.web is not None:
            await self.web.stop()
            self.web = None

    async def _tell_reconciled(self, report: ReconcileReport) -> None:
        """Every movement is told: a payment the bot had missed gets its receipt, an outside refund its notice."""
        for paid in report.credited:
            if paid.user_id is not None and not paid.duplicate:
                await self.notifier.tell(paid.user_id, "payment-receipt", stars=paid.stars, credits=paid.credited,
                                         balance=paid.balance)
        for refund in report.refunds:
            if refund.known and not refund.duplicate and refund.debited:
                balance = (await self.services.accounts.get(refund.user_id)).balance
                await self.notifier.tell(refund.user_id, "refunded-outside", stars=refund.stars,
                                         debited=refund.debited, balance=balance)

    async def _finish_handlers(self, timeout: float = 30.0) -> None:
        """Let updates already being handled finish (aiogram stops polling without waiting for them)."""
        running = list(getattr(self.dispatcher, "_handle_update_tasks", ()))
        if running:
            log.info("waiting for %d update(s) being handled", len(running))
            await asyncio.wait(running, timeout=timeout)

    async def stop(self) -> None:
        """Stop taking updates; `run` then finishes the handlers under way and the worker's current step. A stop
        that comes while the bot is still starting is kept: polling ends as soon as it has begun."""
        self.stop_event.set()

    async def _poll_until_stopped(self) -> None:
        polling = asyncio.create_task(self.dispatcher.start_polling(
            self.bot, handle_signals=False, close_bot_session=False,
            allowed_updates=self.dispatcher.resolve_used_update_types()))
        stopping = asyncio.create_task(self.stop_event.wait())
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        while not polling.done():
            with suppress(RuntimeError):  # polling has not started yet: ask again in a moment
                await self.dispatcher.stop_polling()
            await asyncio.wait({polling}, timeout=0.1)
        stopping.cancel()
        await polling  # its own error, if it failed

    async def close(self) -> None:
        await self.kie.close()
        await self.bot.session.close()
        await self.dispatcher.storage.close()
        await self.engine_db.dispose()
        if self.redis is not None:
            await self.redis.aclose()


async def run_bot(settings: Settings) -> None:
    app = App(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(app.stop()))
    me = await app.bot.get_me()
    log.info("kiebot started as @%s with %d models", me.username, len(app.catalog.models))
    await app.run()
    log.info("kiebot stopped")
