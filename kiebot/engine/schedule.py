"""When to look at a job next: KIE's suggested polling schedule, and retry backoff."""
from __future__ import annotations

from datetime import timedelta

# (elapsed seconds below which, interval seconds): every 2-3 s for the first 30 s, then 5-10 s,
# then 15-30 s after two minutes (API.md).
POLL_STEPS = ((30, 2.5), (120, 7.0), (float("inf"), 20.0))
# How long a task may run before we give up and refund, by category.
TIMEOUTS = {"image": 15 * 60, "audio": 15 * 60, "video": 45 * 60}
SUBMIT_RETRIES = 6
DELIVERY_RETRIES = 8


def poll_interval(elapsed: float, speedup: float = 1.0) -> timedelta:
    for limit, interval in POLL_STEPS:
        if elapsed < limit:
            return timedelta(seconds=interval / speedup)
    raise AssertionError("unreachable")


def backoff(attempt: int, speedup: float = 1.0, cap: float = 300.0) -> timedelta:
    """Exponential: 5, 10, 20, 40 s… up to `cap`."""
    return timedelta(seconds=min(cap, 5.0 * 2 ** max(0, attempt - 1)) / speedup)


def timeout_for(category: str, speedup: float = 1.0) -> float:
    return TIMEOUTS.get(category, 30 * 60) / speedup


def estimated_progress(elapsed: float, typical_seconds: float) -> int:
    """A progress estimate when KIE gives none: approaches 95 % around the model's typical duration."""
    if typical_seconds <= 0:
        return 0
    return int(min(95.0, 100.0 * elapsed / (typical_seconds * 1.1)))
