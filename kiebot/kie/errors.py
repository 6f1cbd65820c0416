"""Typed KIE errors: one class per row of the error table in API.md.

Each class says what the caller should do through three flags:
`retryable` (trying again later may work), `refund` (the user's hold must be released if this is final)
and `operator_alert` (a human must act: key, account balance, quota). A few classes add a flag of their own
(`pause_new_tasks`, `disable_model`, `user_error`). Nothing above `kiebot.kie` looks at raw codes.
"""
from __future__ import annotations

import re

_MAX_MESSAGE = 300
# Telegram file URLs and bot tokens carry the bot's secret; bearer tokens carry KIE's.
_SECRET_PATTERNS = (
    re.compile(r"https?://[^\s\"']*telegram\.org/[^\s\"']*", re.I),
    re.compile(r"https?://[^\s\"']*/file/bot\d+:[^\s\"']*"),
    re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b"),
    re.compile(r"Bearer\s+\S+", re.I),
)


# A Telegram file download path: `/file/bot<token>/...`, on api.telegram.org or a self-hosted/fake Bot API.
TELEGRAM_FILE_URL = re.compile(r"/file/bot\d+:")


def contains_telegram_file_url(value: object) -> bool:
    """True when any string inside `value` (nested dicts/lists) is a Telegram file URL, which carries the bot token."""
    if isinstance(value, str):
        return bool(TELEGRAM_FILE_URL.search(value))
    if isinstance(value, dict):
        return any(contains_telegram_file_url(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_telegram_file_url(v) for v in value)
    return False


def redact(text: str, *secrets: str) -> str:
    """Strip known secrets and Telegram URLs from `text` and cut it to a short length."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("***", text)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


class KieError(Exception):
    """An error answer from KIE (or a failure to get one). `code` is KIE's body code or the HTTP status."""

    retryable: bool = False
    refund: bool = True
    operator_alert: bool = False
    pause_new_tasks: bool = False
    disable_model: bool = False
    user_error: bool = False

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = redact(message)
        super().__init__(f"KIE {code}: {self.message}")


class KieValidation(KieError):
    """400/422 on create: the input was refused; show the reason to the user."""

    user_error = True


class KieRecordPending(KieError):
    """422 "recordInfo is null": the task exists but its record is not readable yet; keep polling."""

    retryable = True
    refund = False


class KieAuthError(KieError):
    """401 (or a CDN 403): the API key is missing or invalid."""

    operator_alert = True


class KieInsufficientCredits(KieError):
    """402: the KIE account is out of credits; the engine stops starting new tasks."""

    operator_alert = True
    pause_new_tasks = True


class KieNotFound(KieError):
    """404: unknown endpoint or task."""


class KieRateLimited(KieError):
    """429: rejected, not queued. `retry_after` is the server's hint in seconds, if any."""

    retryable = True
    refund = False

    def __init__(self, code: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class KieQuota(KieError):
    """433: the sub-key's usage limit is exceeded."""

    operator_alert = True


class KieFileFetch(KieError):
    """451: KIE could not fetch an input file; the user should upload it again."""

    user_error = True


class KieUnavailable(KieError):
    """455/500/550/5xx, network failures and unreadable answers: retry later, then refund.

    `ambiguous` is True when a createTask request may have reached KIE and created a task
    (a timeout or a dropped connection after sending): retrying could run, and bill, it twice.
    """

    retryable = True

    def __init__(self, code: int, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(code, message)
        self.ambiguous = ambiguous


class KieGenerationFailed(KieError):
    """408/501/531: the generation failed upstream."""


class KieFeatureDisabled(KieError):
    """505: the model or feature is switched off at KIE; hide the model."""

    disable_model = True


# --- createTask: the one policy on sending it again --------------------------------------------------------
# createTask is not idempotent: if KIE made a task, sending the request again makes (and bills) a second one.
# So it is sent again only when the answer proves KIE took nothing:
#   429 (rate limited: rejected, not queued), 455 (maintenance), 550 (queue full), and a connection that was
#   never made (refused, DNS, connect timeout: nothing was sent).
# Anything else is final for that job: a 5xx, a timeout after sending, an answer we cannot read or without a
# taskId may all hide a task we never learned about, so the job fails and its hold is released. Such a task is
# not lost: the callback URL carries the job id, so its callback tells us, and the operators hear of it
# (engine/callbacks.py). Refusals that trying again cannot cure (401, 402, 422, 505...) fail the job too.
# The KIE client (quick retries inside one call) and the engine (retries of the job, with backoff) both ask
# `create_may_be_resent`; nothing else decides it.
NO_ANSWER = 0  # pseudo-code of KieUnavailable when no HTTP answer came at all
CREATE_REFUSED_CODES = frozenset({429, 455, 550})


def create_may_be_resent(exc: KieError) -> bool:
    """True when a failed createTask certainly made no task, so sending it again cannot run it twice."""
    if exc.code in CREATE_REFUSED_CODES:
        return True
    return isinstance(exc, KieUnavailable) and exc.code == NO_ANSWER and not exc.ambiguous


_BY_CODE: dict[int, type[KieError]] = {
    400: KieValidation,
    401: KieAuthError,
    402: KieInsufficientCredits,
    403: KieAuthError,
    404: KieNotFound,
    408: KieGenerationFailed,
    422: KieValidation,
    429: KieRateLimited,
    433: KieQuota,
    451: KieFileFetch,
    455: KieUnavailable,
    501: KieGenerationFailed,
    505: KieFeatureDisabled,
    531: KieGenerationFailed,
    550: KieUnavailable,
}


def error_for(code: int, message: str) -> KieError:
    """The typed error for a KIE code; unknown 5xx count as unavailable, other unknown codes as plain KieError."""
    if code == 422 and "recordinfo is null" in message.lower():
        return KieRecordPending(code, message)
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = KieUnavailable if 500 <= code < 600 else KieError
    return cls(code, message)
