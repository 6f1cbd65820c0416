"""KIE.ai adapter: the API client, its typed errors and an emulator of the API for tests and dry runs."""
from kiebot.kie.client import KieClient
from kiebot.kie.errors import (
    KieAuthError,
    KieError,
    KieFeatureDisabled,
    KieFileFetch,
    KieGenerationFailed,
    KieInsufficientCredits,
    KieNotFound,
    KieQuota,
    KieRateLimited,
    KieRecordPending,
    KieUnavailable,
    KieValidation,
    error_for,
)
from kiebot.kie.ratelimit import RateLimiter, SlidingWindowLimiter
from kiebot.kie.records import TaskRecord

__all__ = [
    "KieAuthError",
    "KieClient",
    "KieError",
    "KieFeatureDisabled",
    "KieFileFetch",
    "KieGenerationFailed",
    "KieInsufficientCredits",
    "KieNotFound",
    "KieQuota",
    "KieRateLimited",
    "KieRecordPending",
    "KieUnavailable",
    "KieValidation",
    "RateLimiter",
    "SlidingWindowLimiter",
    "TaskRecord",
    "error_for",
]
