"""Running the bot: long polling (or, with WEBHOOK_URL, Telegram's webhook) plus the job worker, stopped cleanly on
SIGTERM/SIGINT.

On a stop the bot stops taking updates, lets running handlers finish, and leaves every job in the
database; the next start picks them up.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import suppress
from decimal import Decimal

from aiogram import Bot, Dispatcher
from redis.asyncio import Redis

from kiebot.bot.deps import AppServices
from kiebot.bot.factory import create_bot, create_dispatcher, register_commands
from kiebot.bot.i18n import Translator
from kiebot.bot.notifier import TelegramNotifier
from kiebot.bot.observe import instrument
from kiebot.bot.pace import Paces, RedisPaces
from kiebot.bot.stars import TelegramStars
from kiebot.bot.webhook import (
    DatabaseUpdateLog,
    RedisUpdateLog,
    UpdateLog,
    WebhookHandler,
    drop_stale_webhook,
    ensure_webhook,
)
from kiebot.cache import Cache, MemoryStore, RedisStore
from kiebot.catalog import Catalog
from kiebot.config import Settings
from kiebot.engine import Engine
from kiebot.engine.credits import CHECK_SECONDS, TTL_SECONDS, KieCredits
from kiebot.engine.pause import RedisPause
from kiebot.health import Health
from kiebot.kie.client import CREATE, POLL, KieClient
from kiebot.kie.ratelimit import RateLimiter, RedisSlidingWindowLimiter, SlidingWindowLimiter
from kiebot.metrics import Metrics
from kiebot.services.account import AccountService
from kiebot.services.answers import InputFiles
from kiebot.services.generation import GenerationService
from kiebot.services.history import HistoryService
from kiebot.services.jobs import JobControl
from kiebot.services.money import MoneyService
from kiebot.services.next_steps import NextSteps
from kiebot.services.offering import DISABLED_TTL_SECONDS, Offering
from kiebot.services.stars import ReconcileReport
from kiebot.services.stats import StatsService
from kiebot.services.upkeep import Retention, cleanup
from kiebot.store import db
from kiebot.store import jobs as jobs_store
from kiebot.store.fsm import SqlStorage
from kiebot.web import WebServer, build_web_app, start_web

log = logging.getLogger(__name__)
USER_CACHE_SECONDS = 300.0  # how long a user's name and language are taken from the cache
# Young collections every 2 000 net allocations instead of 700 (a third as many); the older generations keep their
# default ratios, so a middle collection still walks ~20 000 objects at most. With the start-up heap frozen
# (`settle_heap`) a full collection only walks what was made since.
GC_THRESHOLD = (2_000, 10, 10)
UPLOAD_CACHE_SHARE = 0.5  # an upload is reused for half of UPLOAD_TTL_HOURS, so a reused link is never near expiry
CLEANUP_SECONDS = 24 * 3600.0  # the database upkeep runs at start-up and then daily


def settle_heap() -> None:
    """After start-up: collect once, then move every object alive (modules, the catalogue, pydantic and aiogram
    classes: ~280 000 of them) out of the collector's reach, so a full collection no longer stops the process for a
    quarter of a second walking them. `App.close` gives them back (`gc.unfreeze`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


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
        self.metrics = Metrics()
        self.engine_db = db.create_engine(settings.database_url)
        self.db = db.Database.of(self.engine_db, observer=self.metrics)
        self.sessionmaker = self.db.write
        assert settings.kie_api_key is not None
        self.kie = KieClient(settings.kie_api_base, settings.kie_upload_base, settings.kie_api_key.get_secret_value(),
                             rate_limiter=self.kie_limiter(), observer=self.metrics,
                             placeholder_callback_url=settings.kie_placeholder_callback_url)
        money = MoneyService.of(self.db, settings, self.catalog)
        uploads = self.cache("uploads", ttl=settings.upload_ttl_hours * 3600 * UPLOAD_CACHE_SHARE)
        offering = Offering(self.db, self.catalog, disabled=self.cache("models", ttl=DISABLED_TTL_SECONDS))
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
            stats=StatsService(self.db, self._kie_balance),
            next_steps=NextSteps(self.db, offering, settings.upload_ttl_hours),
        )
        self.bot: Bot = create_bot(settings, self.telegram_paces())
        self.dispatcher: Dispatcher = create_dispatcher(
            self.services, storage=SqlStorage(self.db.write), redis=self.redis)
        instrument(self.dispatcher, self.bot, self.metrics)
        self.notifier = TelegramNotifier(self.bot, self.db, self.services.accounts, self.catalog, self.translator,
                                         settings)
        self.engine = Engine(sessionmaker=self.sessionmaker, kie=self.kie, catalog=self.catalog,
                             notifier=self.notifier, settings=settings,
                             models_changed=self.services.offering.forget_disabled,
                             pause=RedisPause(self.redis) if self.redis is not None else None)
        # The KIE account's credits, cached (in Redis with REDIS_URL) and checked against KIE_CREDITS_ALERT.
        self.credits = KieCredits(self.kie, self.cache("kie", ttl=TTL_SECONDS), self.engine.alerts,
                                  settings.kie_credits_alert)
        self.stop_event = asyncio.Event()
        self.web: WebServer | None = None
        self.webhook = self._webhook_handler() if settings.webhook_url else None
        self.health = Health(self.db, self.redis, self.kie)

    async def _kie_balance(self) -> Decimal | None:
        return await self.credits.current()
    # With REDIS_URL the limits of the one KIE account and the one bot token are counted in Redis, so the replicas
    # together stay within them; without it, in this process.
    def kie_limiter(self) -> RateLimiter:
        # KIE's own windows: the limiter counts each call until a window after its answer (kie/ratelimit.py).
        limits = {CREATE: (self.settings.kie_create_per_10s, 10.0), POLL: (self.settings.kie_polls_per_second, 1.0)}
        if self.redis is None:
            return SlidingWindowLimiter(limits)
        return RedisSlidingWindowLimiter(self.redis, limits)

    def telegram_paces(self) -> Paces | None:
        if self.redis is None:
            return None  # the flood control's own, in memory
        settings = self.settings
        return RedisPaces(self.redis, settings.telegram_global_rate, settings.telegram_chat_rate,
                          settings.telegram_chat_burst)

    def cache(self, name: str, ttl: float) -> Cache:
        """A cache in Redis when REDIS_URL is set (shared by replicas), else in this process's memory."""
        store = RedisStore(self.redis, prefix=f"kiebot:{name}:") if self.redis is not None else MemoryStore()
        cache = Cache(store, ttl)
        self.metrics.watch_cache(name, cache)
        return cache

    def _webhook_handler(self) -> WebhookHandler:
        settings = self.settings
        assert settings.webhook_secret is not None  # `kiebot run` refuses webhook mode without it
        ttl = settings.webhook_dedup_seconds
        seen: UpdateLog = (RedisUpdateLog(self.redis, self.bot.id, ttl) if self.redis is not None
                           else DatabaseUpdateLog(self.db, ttl))
        return WebhookHandler(self.dispatcher, self.bot, settings.webhook_secret.get_secret_value(), seen)

    async def run(self) -> None:
        try:
            await register_commands(self.bot, self.translator)
        except Exception as exc:  # a menu we could not set must not keep the bot down
            log.warning("could not register the command menu: %s", type(exc).__name__)
        worker: asyncio.Task[None] | None = None
        reconciler: asyncio.Task[None] | None = None
        credits: asyncio.Task[None] | None = None
        upkeep: asyncio.Task[None] | None = None
        try:
            await self.start_web()
            settle_heap()
            worker = asyncio.create_task(self.engine.run(self.stop_event), name="job-worker")
            reconciler = asyncio.create_task(self._reconcile_payments(), name="stars-reconciliation")
            credits = asyncio.create_task(self._every(CHECK_SECONDS, self.credits.check, "KIE credits check"),
                                          name="kie-credits-check")
            upkeep = asyncio.create_task(self._every(CLEANUP_SECONDS, self._clean_up, "database cleanup"),
                                         name="database-cleanup")
            if self.webhook is not None:
                await self._serve_webhook_until_stopped()
            else:
                await drop_stale_webhook(self.bot)
                await self._poll_until_stopped()
        finally:
            self.stop_event.set()
            await self._finish_handlers()
            for task in (worker, reconciler, upkeep, credits):
                if task is not None:
                    await task
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

    async def _every(self, seconds: float, step: Callable[[], Awaitable[None]], what: str) -> None:
        """Run `step` now and then every `seconds` until the bot stops; a failure is logged and tried next time."""
        while not self.stop_event.is_set():
            try:
                await step()
            except Exception as exc:  # the database or KIE unreachable: try again next time
                log.warning("%s failed: %s", what, type(exc).__name__)
            with suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=seconds)

    async def _clean_up(self) -> None:
        """What `kiebot cleanup` does (services.upkeep); every replica may run it, the deletes are idempotent."""
        report = await cleanup(self.db, Retention.of(self.settings))
        log.info("database cleanup: %s", report.text().replace("\n", "; "))

    async def start_web(self) -> None:
        """KIE callbacks, /health and the webhook (in webhook mode) on WEB_HOST:WEB_PORT. Callbacks are only hints
        (polling finds every result), so without a webhook a port we cannot listen on is logged, not fatal: the
        engine then polls at its callback-less pace. In webhook mode it is fatal: no update would arrive."""
        key = self.settings.kie_webhook_hmac_key
        app = build_web_app(self.engine.callbacks, hmac_key=key.get_secret_value() if key else None,
                            health_report=self.health, metrics=self._render_metrics)
        if self.webhook is not None and self.settings.webhook_path is not None:
            self.webhook.register_on(app, self.settings.webhook_path)
        try:
            self.web = await start_web(app, self.settings.web_host, self.settings.web_port)
        except OSError as exc:
            if self.webhook is not None:
                raise RuntimeError(f"webhook mode: the web server cannot listen on {self.settings.web_host}:"
                                   f"{self.settings.web_port} ({exc.strerror or exc})") from None
            log.error("web server cannot listen on %s:%s (%s): no KIE callbacks, polling only",
                      self.settings.web_host, self.settings.web_port, exc)
            self.engine.callbacks_expected = False
            return
        log.info("web server listening on %s", self.web.url)

    async def _render_metrics(self) -> bytes:
        return await self.metrics.render(self._job_counts)

    async def _job_counts(self) -> list[tuple[str, str, int]]:
        async with self.db.read() as session:
            return await jobs_store.count_by_model_and_state(session)

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
        if self.webhook is not None:
            await self.webhook.drain(timeout)
            return
        running = list(getattr(self.dispatcher, "_handle_update_tasks", ()))
        if running:
            log.info("waiting for %d update(s) being handled", len(running))
            await asyncio.wait(running, timeout=timeout)

    async def stop(self) -> None:
        """Stop taking updates; `run` then finishes the handlers under way and the worker's current step. A stop
        that comes while the bot is still starting is kept: polling ends as soon as it has begun."""
        self.stop_event.set()

    async def _serve_webhook_until_stopped(self) -> None:
        """Telegram delivers updates to the web server (already listening); set the webhook if Telegram has another
        URL, then wait for the stop. The webhook stays set on a stop: Telegram keeps the updates for the next start,
        or delivers them to another replica."""
        assert self.settings.webhook_url is not None and self.settings.webhook_secret is not None
        await ensure_webhook(self.bot, self.settings.webhook_url, self.settings.webhook_secret.get_secret_value(),
                             self.dispatcher.resolve_used_update_types())
        await self.stop_event.wait()

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
        gc.unfreeze()  # what this app kept alive may be collected again (tests start many apps in one process)


async def run_bot(settings: Settings) -> None:
    app = App(settings)
    # Replicas never migrate (two at once would race): `kiebot migrate` runs once, before they start.
    if not await db.schema_is_current(app.engine_db):
        await app.close()
        raise SystemExit("kiebot: the database is not up to date: run `kiebot migrate` first "
                         "(once, before any replica starts).")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(app.stop()))
    me = await app.bot.get_me()
    log.info("kiebot started as @%s with %d models", me.username, len(app.catalog.models))
    await app.run()
    log.info("kiebot stopped")
