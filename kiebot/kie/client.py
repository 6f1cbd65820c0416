"""Async KIE.ai API client: envelopes in, typed results and typed errors out.

Everything KIE-specific about HTTP lives here: auth, the `{code, msg, data}` envelope (errors may come with
HTTP 200), retries with backoff, client-side rate limits and logging that never shows the key or prompts.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, Protocol

import aiohttp

from kiebot.kie.errors import (
    NO_ANSWER,
    KieError,
    KieRateLimited,
    KieUnavailable,
    KieValidation,
    contains_telegram_file_url,
    create_may_be_resent,
    error_for,
    redact,
)
from kiebot.kie.families import Api, family_for
from kiebot.kie.ratelimit import RateLimiter, SlidingWindowLimiter
from kiebot.kie.records import TaskRecord
from kiebot.logs import bound, fields

log = logging.getLogger("kiebot.kie")

USER_AGENT = "kiebot/0.1"
CREATE, POLL, OTHER = "createTask", "recordInfo", "other"

# Awaited once the rate limiter lets a createTask go, right before it is sent: the engine marks its job there (a
# crash after that may leave a task KIE made; one before it may simply send again). A context variable, so the family
# adapters between the engine and `_call` need not carry it.
_before_send: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("kie_before_send", default=None)


@contextmanager
def before_send(hook: Callable[[], Awaitable[None]]) -> Iterator[None]:
    """Run `hook` before each createTask of this context goes out (after its wait in line); an exception it raises
    stops the call unsent."""
    token = _before_send.set(hook)
    try:
        yield
    finally:
        _before_send.reset(token)


async def announce_send() -> None:
    """Run the hook of `before_send`, if any (the client does; fakes of the client call it too)."""
    hook = _before_send.get()
    if hook is not None:
        await hook()
_MAX_DELAY = 30.0
# Sent as callBackUrl to families that require one when the deployment has no PUBLIC_URL (polling finds the result).
PLACEHOLDER_CALLBACK_URL = "https://example.com/kie/callback"

FormFactory = Callable[[], aiohttp.FormData]


class RequestObserver(Protocol):
    def kie_request(self, path: str, code: int, seconds: float) -> None:
        """`code`: 200, KIE's error code, or NO_ANSWER (0) when no answer came."""
        ...


class KieClient:
    """One instance per process; share it. The limits are (calls, seconds) windows per instance."""

    def __init__(
        self,
        api_base: str,
        upload_base: str,
        api_key: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        create_limit: tuple[int, float] = (20, 10.0),
        poll_limit: tuple[int, float] = (10, 1.0),
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        placeholder_callback_url: str = PLACEHOLDER_CALLBACK_URL,
        observer: RequestObserver | None = None,
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self._upload_base = upload_base.rstrip("/")
        self._api_key = api_key
        self._session = session
        self._own_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._sleep = sleep  # injectable so tests can see backoff delays without waiting
        self._observer = observer  # the App's metrics: every request's path, outcome code and duration
        self._limiter = rate_limiter or SlidingWindowLimiter({CREATE: create_limit, POLL: poll_limit})
        self.placeholder_callback_url = placeholder_callback_url

    def __repr__(self) -> str:  # the default repr would be harmless, but never risk the key
        return f"KieClient({self._api_base!r})"

    async def __aenter__(self) -> KieClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    # --- API -----------------------------------------------------------------------------------

    async def create_task(self, model: str, input: dict[str, Any], callback_url: str | None = None,
                          api: Mapping[str, Any] | Api | None = None) -> str:
        """Start a task and return its id; `api` (the model's catalogue entry) picks the family's endpoints,
        none: the market API."""
        if contains_telegram_file_url(input):
            # A bug upstream, but never leak the bot token to a third party: refuse before sending.
            raise KieValidation(400, "input contains a Telegram file URL; upload the file to KIE first")
        family, spec = family_for(api)
        with bound(model=model):
            return await family.create(self, spec, model, input, callback_url)

    async def record_info(self, task_id: str, api: Mapping[str, Any] | Api | None = None) -> TaskRecord:
        """Read a task as a normalized record. Raises KieRecordPending while KIE says `recordInfo is null`."""
        family, spec = family_for(api)
        with bound(task=task_id):
            return await family.poll(self, spec, task_id)

    async def call(self, method: str, path: str, op: str, *, json_body: Any = None,
                   params: dict[str, str] | None = None) -> Any:
        """One API call (path on the main host) with retries and the envelope checked: `data`, or a KieError."""
        return await self._call(method, f"{self._api_base}{path}", op, json_body=json_body, params=params)

    async def upload_file(self, data: bytes, file_name: str, mime: str, upload_path: str = "kiebot") -> str:
        """Upload bytes to KIE's file host and return the public download URL."""

        def form() -> aiohttp.FormData:  # a FormData is consumed by one request: build one per attempt
            fd = aiohttp.FormData()
            fd.add_field("file", data, filename=file_name, content_type=mime)
            fd.add_field("uploadPath", upload_path)
            fd.add_field("fileName", file_name)
            return fd

        log.info("KIE upload %s (%s, %d bytes)", file_name, mime, len(data))
        answer = await self._call("POST", f"{self._upload_base}/api/file-stream-upload", OTHER, form=form)
        url = answer.get("downloadUrl") if isinstance(answer, dict) else None
        if not url:
            raise KieUnavailable(200, "upload answer has no downloadUrl")
        return str(url)

    async def credits(self) -> Decimal:
        """The account balance in KIE credits (may be fractional)."""
        data = await self._call("GET", f"{self._api_base}/api/v1/chat/credit", OTHER)
        if isinstance(data, dict):
            data = data.get("credits", data.get("balance"))
        try:
            return Decimal(str(data))
        except (InvalidOperation, ValueError):
            raise KieUnavailable(200, "credit answer is not a number") from None

    async def download_url(self, url: str) -> str:
        """A temporary (20 min) direct link for a KIE result URL."""
        data = await self._call("POST", f"{self._api_base}/api/v1/common/download-url", OTHER, json_body={"url": url})
        if isinstance(data, dict):
            data = data.get("url") or data.get("downloadUrl")
        if not isinstance(data, str) or not data:
            raise KieUnavailable(200, "download-url answer has no link")
        return data

    # --- transport -----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        url: str,
        op: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        form: FormFactory | None = None,
    ) -> Any:
        attempt = 0
        while True:
            try:
                async with self._limiter.slot(op):  # held until the answer: see kie/ratelimit.py
                    if op == CREATE:
                        await announce_send()
                    return await self._send(method, url, op, json_body=json_body, params=params, form=form)
            except KieError as exc:
                if attempt >= self._max_retries or not self._may_retry(exc, op):
                    raise
                delay = self._delay(exc, attempt)
                log.warning("KIE %s %s: %s; retry %d in %.2f s", method, _path(url), exc, attempt + 1, delay)
                attempt += 1
                await self._sleep(delay)

    @staticmethod
    def _may_retry(exc: KieError, op: str) -> bool:
        if not exc.retryable or exc.code == 422:  # 422 "recordInfo is null" is the engine's to wait for
            return False
        # A createTask is sent again only when KIE certainly made no task (the policy lives in kie/errors.py).
        return op != CREATE or create_may_be_resent(exc)

    def _delay(self, exc: KieError, attempt: int) -> float:
        if isinstance(exc, KieRateLimited) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), _MAX_DELAY)
        base = self._backoff_base * (2**attempt)
        return min(base + random.uniform(0, base), _MAX_DELAY)  # jitter spreads replicas apart

    async def _send(
        self,
        method: str,
        url: str,
        op: str,
        *,
        json_body: Any,
        params: dict[str, str] | None,
        form: FormFactory | None,
    ) -> Any:
        session = self._get_session()
        headers = {"Authorization": f"Bearer {self._api_key}", "User-Agent": USER_AGENT, "Accept": "application/json"}
        started = time.monotonic()
        try:
            async with session.request(
                method,
                url,
                json=json_body,
                data=form() if form else None,
                params=params,
                headers=headers,
                timeout=self._timeout,
            ) as resp:
                status, text = resp.status, await resp.text(errors="replace")
                content_type, retry_after = resp.content_type, resp.headers.get("Retry-After")
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # The connection was never made: nothing was sent.
            self._log(method, url, "-", "network", started)
            raise KieUnavailable(NO_ANSWER, f"cannot connect to KIE ({type(exc).__name__})") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Sent (at least partly) with no answer: a createTask may have gone through.
            self._log(method, url, "-", "network", started)
            raise KieUnavailable(
                NO_ANSWER, f"no answer from KIE ({type(exc).__name__})", ambiguous=op == CREATE
            ) from None
        try:
            data = self._unwrap(status, text, content_type, retry_after, op)
        except KieError as exc:
            self._log(method, url, status, exc.code, started)
            raise
        self._log(method, url, status, 200, started)
        return data

    def _unwrap(self, status: int, text: str, content_type: str, retry_after: str | None, op: str) -> Any:
        """Check both the HTTP status and the body code; return `data` or raise the typed error."""
        body = _loads(text)
        if body is None:
            if status == 200:
                raise KieUnavailable(
                    status, f"unreadable answer ({content_type}, {len(text)} chars)", ambiguous=op == CREATE
                )
            raise self._error(status, f"HTTP {status} ({content_type})", retry_after)
        code = _as_int(body.get("code"))
        message = str(body.get("msg") or body.get("message") or "")
        if status != 200 and code in (None, 200):
            code = status
        if code is None or code == 200:
            return body.get("data")
        raise self._error(code, message or f"code {code}", retry_after)

    def _error(self, code: int, message: str, retry_after: str | None) -> KieError:
        exc = error_for(code, redact(message, self._api_key))
        if isinstance(exc, KieRateLimited):
            exc.retry_after = _as_float(retry_after)
        return exc

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    def _log(self, method: str, url: str, status: int | str, code: int | str, started: float) -> None:
        """Every request ends here once, answered or not: its one log line (the job, task and model come from the
        log context), and the observer (the metrics) hears of it."""
        elapsed = time.monotonic() - started
        elapsed_ms = round(elapsed * 1000)
        path = _path(url)
        log.info("KIE %s %s -> HTTP %s code %s in %d ms", method, path, status, code, elapsed_ms,
                 extra=fields(method=method, path=path, status=status, code=code, ms=elapsed_ms))
        if self._observer is not None:
            self._observer.kie_request(path, code if isinstance(code, int) else NO_ANSWER, elapsed)


def _path(url: str) -> str:
    """The URL path only: no host, no query (taskIds are fine, but keep log lines uniform)."""
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]


def _loads(text: str) -> dict[str, Any] | None:
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP-date Retry-After: fall back to our own backoff
