"""When to look at a job next: KIE's suggested polling schedule, the slower fallback when callbacks are on,
retry backoff, and how long a result may wait for Telegram."""
from __future__ import annotations

from datetime import timedelta

# (elapsed seconds below which, interval seconds): KIE suggests every 2-3 s for the first 30 s, then 5-10 s, then
# 15-30 s after two minutes (API.md). We take the slow end of each range: a 60 s task costs at most 14 polls.
POLL_STEPS = ((30, 3.0), (120, 10.0), (float("inf"), 30.0))
# With callbacks the callback says when to look; polling is only the fallback for a callback that never came:
# once a minute, or once per typical run of the model when that is longer.
CALLBACK_FALLBACK_SECONDS = 60.0
# How long a task may run before we give up and refund, by category.
TIMEOUTS = {"image": 15 * 60, "audio": 15 * 60, "video": 45 * 60}
SUBMIT_RETRIES = 6
# A result Telegram would not take yet (an outage, flood limits) is tried again with backoff for this long before
# the job is given up and released: it is charged only once it reached the user.
DELIVERY_PATIENCE = timedelta(hours=24)
DELIVERY_BACKOFF_CAP = 600.0


def poll_interval(elapsed: float, speedup: float = 1.0) -> timedelta:
    for limit, interval in POLL_STEPS:
        if elapsed < limit:
            return timedelta(seconds=interval / speedup)
    raise AssertionError("unreachable")


def fallback_interval(typical_seconds: float, speedup: float = 1.0) -> timedelta:
    """The polling interval while callbacks are expected."""
    return timedelta(seconds=max(CALLBACK_FALLBACK_SECONDS, typical_seconds) / speedup)


def backoff(attempt: int, speedup: float = 1.0, cap: float = 300.0) -> timedelta:
    """Exponential: 5, 10, 20, 40 s… up to `cap`."""
    return timedelta(seconds=min(cap, 5.0 * 2 ** max(0, attempt - 1)) / speedup)


def delivery_backoff(attempt: int, speedup: float = 1.0) -> timedelta:
    return backoff(attempt, speedup, cap=DELIVERY_BACKOFF_CAP)


def timeout_for(category: str, speedup: float = 1.0) -> float:
    return TIMEOUTS.get(category, 30 * 60) / speedup


def estimated_progress(elapsed: float, typical_seconds: float) -> int:
    """A progress estimate when KIE gives none: approaches 95 % around the model's typical duration."""
    if typical_seconds <= 0:
        return 0
    return int(min(95.0, 100.0 * elapsed / (typical_seconds * 1.1)))
