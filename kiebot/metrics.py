"""What `GET /metrics` shows, in Prometheus' text format (prometheus-client), one registry per App.

Each figure is fed from one place: updates and their handling time by an aiogram middleware (`bot/observe.py`),
Telegram's 429 answers by a middleware of the Bot's session (same module), KIE requests by the KIE client's request
path (`KieClient(observer=)`), ledger movements by the ledger's write path when its transaction commits
(`store/observe.py`), cache hits and misses from each cache's own counters. Generations by model and state and
the queue depth are read from the database when scraped (at most every few seconds): they are the same figures on
every replica (take `max`, not `sum`, across replicas), and they survive restarts.
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from kiebot.cache import Cache

OPEN_STATES = ("waiting", "submitting", "running", "delivering")
HANDLER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
KIE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Rows of (model, state, jobs) as stored now.
JobCounts = Callable[[], Awaitable[list[tuple[str, str, int]]]]


class Metrics:
    def __init__(self, *, refresh_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("kiebot_updates", "Telegram updates handled, by type", ["type"], registry=r)
        self.update_seconds = Histogram("kiebot_update_handling_seconds", "Time to handle one update, by type",
                                        ["type"], buckets=HANDLER_BUCKETS, registry=r)
        self.kie_seconds = Histogram("kiebot_kie_request_seconds", "KIE requests and their duration, by API path",
                                     ["path"], buckets=KIE_BUCKETS, registry=r)
        self.kie_errors = Counter("kiebot_kie_errors", "KIE error answers by code (0: no answer at all)",
                                  ["path", "code"], registry=r)
        self.ledger = Counter("kiebot_ledger_movements", "Ledger rows written, by kind", ["kind"], registry=r)
        self.telegram_429 = Counter("kiebot_telegram_rate_limited", "Telegram 429 answers, by method", ["method"],
                                    registry=r)
        self.generations = Gauge("kiebot_generations", "Generations stored, by model and state", ["model", "state"],
                                 registry=r)
        self.queue = Gauge("kiebot_queue_jobs", "Jobs not finished, by state (waiting: for a free slot)", ["state"],
                           registry=r)
        self._caches = CacheCollector()
        r.register(self._caches)
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._refreshed_at: float | None = None

    # --- fed by the instrumented places (see the module's docstring) -----------------------------------------------

    def kie_request(self, path: str, code: int, seconds: float) -> None:
        self.kie_seconds.labels(path).observe(seconds)
        if code != 200:
            self.kie_errors.labels(path, str(code)).inc()

    def ledger_moved(self, kind: str) -> None:
        self.ledger.labels(kind).inc()

    def watch_cache(self, name: str, cache: Cache) -> None:
        self._caches.caches[name] = cache

    # --- the scrape ----------------------------------------------------------------------------------------------

    async def render(self, job_counts: JobCounts) -> bytes:
        """The text format, after refreshing the database figures when they are older than a few seconds."""
        now = self._clock()
        if self._refreshed_at is None or now - self._refreshed_at >= self._refresh_seconds:
            self._set_jobs(await job_counts())
            self._refreshed_at = now
        return generate_latest(self.registry)

    def _set_jobs(self, rows: list[tuple[str, str, int]]) -> None:
        self.generations.clear()
        queue = dict.fromkeys(OPEN_STATES, 0)
        for model, state, count in rows:
            self.generations.labels(model, state).set(count)
            if state in queue:
                queue[state] += count
        for state, count in queue.items():
            self.queue.labels(state).set(count)


class CacheCollector(Collector):
    """Hits and misses of each cache, read from its own counters when scraped."""

    def __init__(self) -> None:
        self.caches: dict[str, Cache] = {}

    def collect(self) -> Iterator[Metric]:
        hits = CounterMetricFamily("kiebot_cache_hits", "Cache hits, by cache", labels=["cache"])
        misses = CounterMetricFamily("kiebot_cache_misses", "Cache misses, by cache", labels=["cache"])
        for name, cache in self.caches.items():
            hits.add_metric([name], cache.stats.hits)
            misses.add_metric([name], cache.stats.misses)
        yield hits
        yield misses
