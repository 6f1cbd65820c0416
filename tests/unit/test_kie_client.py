"""KieClient against the KIE emulator (and a few hand-made servers) over real HTTP on 127.0.0.1."""
from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from kiebot.kie import (
    KieAuthError,
    KieClient,
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
    SlidingWindowLimiter,
    TaskRecord,
    error_for,
)
from kiebot.kie.emulator import EmulatorTimings, RunningEmulator, start_emulator

KEY = "sk-very-secret-kie-key-123"
FAST = EmulatorTimings(null_record_s=0.05, queue_s=0.05, generate_s=0.1, wait_s=0.02)


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    emulator = await start_emulator(api_key=KEY, timings=FAST)
    yield emulator
    await emulator.close()


class Sleeps:
    """Records backoff delays instead of sleeping them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def kie(emu: RunningEmulator, sleeps: Sleeps) -> AsyncIterator[KieClient]:
    # A wide poll limit keeps tests quick; the limiter itself is tested with a fake clock below.
    async with KieClient(emu.url, emu.url, KEY, backoff_base=0.001, sleep=sleeps, poll_limit=(1000, 1.0)) as client:
        yield client


async def control(emu: RunningEmulator, path: str, body: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{emu.url}/_emulator/{path}", json=body) as resp:
        assert resp.status == 200


async def poll(kie: KieClient, task_id: str) -> tuple[TaskRecord, int]:
    pending = 0
    for _ in range(300):
        try:
            record = await kie.record_info(task_id)
        except KieRecordPending:
            pending += 1
        else:
            if record.finished:
                return record, pending
        await asyncio.sleep(0.01)
    raise AssertionError("task never finished")


async def test_create_poll_success_and_download(kie: KieClient) -> None:
    task_id = await kie.create_task("google/nano-banana", {"prompt": "a cat", "aspect_ratio": "1:1"})
    record, pending = await poll(kie, task_id)
    assert pending >= 1  # `recordInfo is null` right after create
    assert record.state == "success" and record.succeeded and record.model == "google/nano-banana"
    assert record.param == {"model": "google/nano-banana", "input": {"prompt": "a cat", "aspect_ratio": "1:1"}}
    assert record.create_time and record.complete_time and record.cost_time_ms is not None
    async with aiohttp.ClientSession() as http, http.get(record.result_urls[0]) as resp:
        assert Image.open(io.BytesIO(await resp.read())).size == (1024, 1024)
    temporary = await kie.download_url(record.result_urls[0])
    assert temporary.startswith(record.result_urls[0])


async def test_failed_task(kie: KieClient, emu: RunningEmulator) -> None:
    await control(emu, "task-outcome", {"outcome": "fail", "fail_code": "500", "fail_msg": "Internal server error"})
    record, _ = await poll(kie, await kie.create_task("google/nano-banana", {"prompt": "x"}))
    assert record.failed and record.fail_code == "500" and record.fail_msg == "Internal server error"
    assert record.result_urls == []


async def test_callback_url_is_sent(kie: KieClient, emu: RunningEmulator) -> None:
    await kie.create_task("google/nano-banana", {"prompt": "x"}, callback_url="http://127.0.0.1:1/cb")
    [task] = emu.state.tasks.values()
    assert task.body["callBackUrl"] == "http://127.0.0.1:1/cb"


ERROR_CASES: list[tuple[int, type[KieError], dict[str, bool]]] = [
    (401, KieAuthError, {"operator_alert": True, "refund": True, "retryable": False}),
    (402, KieInsufficientCredits, {"operator_alert": True, "refund": True, "pause_new_tasks": True, "retryable": False}),
    (422, KieValidation, {"refund": True, "user_error": True, "retryable": False}),
    (433, KieQuota, {"operator_alert": True, "retryable": False}),
    (451, KieFileFetch, {"user_error": True, "refund": True, "retryable": False}),
    (501, KieGenerationFailed, {"refund": True, "retryable": False}),
    (505, KieFeatureDisabled, {"refund": True, "disable_model": True, "retryable": False}),
    (429, KieRateLimited, {"retryable": True, "refund": False}),
    (455, KieUnavailable, {"retryable": True, "refund": True}),
    (500, KieUnavailable, {"retryable": True, "refund": True}),
]


@pytest.mark.parametrize(("code", "cls", "flags"), ERROR_CASES)
async def test_injected_errors_map_to_classes(
    kie: KieClient, emu: RunningEmulator, sleeps: Sleeps, code: int, cls: type[KieError], flags: dict[str, bool]
) -> None:
    await control(emu, "fail", {"code": code, "times": 10, "endpoint": "createTask"})
    with pytest.raises(cls) as caught:
        await kie.create_task("google/nano-banana", {"prompt": "x"})
    assert caught.value.code == code
    for flag, value in flags.items():
        assert getattr(caught.value, flag) is value, flag
    # createTask is retried only when KIE certainly made no task.
    assert len(sleeps.delays) == (3 if code in (429, 455) else 0)
    assert emu.state.tasks == {}


@pytest.mark.parametrize("code", [500, 455, 402])
async def test_errors_on_record_info(kie: KieClient, emu: RunningEmulator, sleeps: Sleeps, code: int) -> None:
    await control(emu, "fail", {"code": code, "times": 10, "endpoint": "recordInfo"})
    with pytest.raises(KieError) as caught:
        await kie.record_info("whatever")
    assert caught.value.code == code
    assert len(sleeps.delays) == (3 if caught.value.retryable else 0)


async def test_429_retried_then_succeeds_honoring_retry_after(kie: KieClient, emu: RunningEmulator, sleeps: Sleeps) -> None:
    await control(emu, "fail", {"code": 429, "times": 2, "endpoint": "createTask", "retry_after": 1.5})
    task_id = await kie.create_task("google/nano-banana", {"prompt": "x"})
    assert sleeps.delays == [1.5, 1.5]
    assert list(emu.state.tasks) == [task_id]


async def test_500_on_poll_retried_with_backoff(kie: KieClient, emu: RunningEmulator, sleeps: Sleeps) -> None:
    task_id = await kie.create_task("google/nano-banana", {"prompt": "x"})
    await control(emu, "fail", {"code": 500, "times": 2, "endpoint": "recordInfo"})
    with pytest.raises(KieRecordPending):  # not retried by the client: the engine keeps polling
        await kie.record_info(task_id)
    assert len(sleeps.delays) == 2 and sleeps.delays[1] > 0


async def test_unknown_task_is_not_found(kie: KieClient) -> None:
    with pytest.raises(KieNotFound):
        await kie.record_info("does-not-exist")


async def test_malformed_answer(kie: KieClient, emu: RunningEmulator, sleeps: Sleeps) -> None:
    await control(emu, "fail", {"mode": "malformed", "endpoint": "createTask"})
    with pytest.raises(KieUnavailable) as caught:
        await kie.create_task("google/nano-banana", {"prompt": "x"})
    assert caught.value.ambiguous and caught.value.retryable
    assert "<html" not in str(caught.value) and len(str(caught.value)) < 120
    assert sleeps.delays == []  # a create that may have gone through is not repeated blindly
    await control(emu, "fail", {"mode": "malformed", "endpoint": "credit"})
    assert await kie.credits() == Decimal(10000)  # idempotent reads are retried
    assert len(sleeps.delays) == 1


async def test_upload_round_trip(kie: KieClient, emu: RunningEmulator) -> None:
    content = bytes(range(256)) * 100
    url = await kie.upload_file(content, "photo.jpg", "image/jpeg")
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert await resp.read() == content
        assert resp.content_type == "image/jpeg"
    [upload] = emu.state.uploads
    assert (upload["fileName"], upload["uploadPath"]) == ("photo.jpg", "kiebot")


async def test_credits_decrement(kie: KieClient) -> None:
    before = await kie.credits()
    await poll(kie, await kie.create_task("google/nano-banana", {"prompt": "x"}))
    assert before - await kie.credits() == Decimal(4)


async def test_validation_message(kie: KieClient) -> None:
    with pytest.raises(KieValidation) as caught:
        await kie.create_task("google/nano-banana", {"prompt": "x", "aspect_ratio": "7:7"})
    assert "aspect_ratio" in caught.value.message and "7:7" in caught.value.message


async def test_key_never_in_errors_or_logs(emu: RunningEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[KieError] = []
    async with KieClient(emu.url, emu.url, KEY + "-wrong", sleep=Sleeps()) as bad:
        for call in (bad.credits(), bad.create_task("google/nano-banana", {"prompt": "private prompt"})):
            with pytest.raises(KieAuthError) as caught:
                await call
            errors.append(caught.value)
    async with KieClient("http://127.0.0.1:1", emu.url, KEY, sleep=Sleeps(), max_retries=1) as down:
        with pytest.raises(KieUnavailable) as caught:
            await down.create_task("google/nano-banana", {"prompt": "private prompt"})
        errors.append(caught.value)
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [r.getMessage() for r in caplog.records]
    assert all(KEY not in text and "private prompt" not in text for text in texts)
    assert any(r.getMessage().startswith("KIE POST /api/v1/jobs/createTask -> HTTP 200 code 401") for r in caplog.records)


def test_error_messages_are_redacted() -> None:
    exc = error_for(500, "token 123456789:AAAbbbCCCdddEEEfffGGGhhhIIIjjjKKKlll at https://api.telegram.org/file/bot1/x.jpg")
    assert "AAAbbb" not in str(exc) and "telegram.org" not in str(exc)
    assert "Bearer" not in str(error_for(401, "Bearer abc.def rejected")).replace("***", "")


async def _server(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_key_echoed_by_server_is_redacted() -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"code": 500, "message": f"bad header {request.headers['Authorization']}"})

    runner, url = await _server(echo)
    try:
        async with KieClient(url, url, KEY, max_retries=0) as kie:
            with pytest.raises(KieUnavailable) as caught:
                await kie.credits()
    finally:
        await runner.cleanup()
    assert KEY not in str(caught.value) and "bad header" in str(caught.value)


async def test_timeout_after_sending_create_is_ambiguous_and_not_retried() -> None:
    seen: list[str] = []
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        seen.append(request.path)
        await release.wait()
        return web.json_response({"code": 200, "data": {"taskId": "late"}})

    runner, url = await _server(hang)
    try:
        async with KieClient(url, url, KEY, timeout=0.2, sleep=Sleeps()) as kie:
            with pytest.raises(KieUnavailable) as caught:
                await kie.create_task("google/nano-banana", {"prompt": "x"})
    finally:
        release.set()
        await runner.cleanup()
    assert caught.value.ambiguous and seen == ["/api/v1/jobs/createTask"]


async def test_connection_refused_create_is_retried_and_not_ambiguous() -> None:
    sleeps = Sleeps()
    async with KieClient("http://127.0.0.1:1", "http://127.0.0.1:1", KEY, sleep=sleeps, max_retries=2) as kie:
        with pytest.raises(KieUnavailable) as caught:
            await kie.create_task("google/nano-banana", {"prompt": "x"})
    assert not caught.value.ambiguous and len(sleeps.delays) == 2


async def test_user_agent_and_auth_headers() -> None:
    headers: list[dict[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        headers.append(dict(request.headers))
        return web.json_response({"code": 200, "msg": "success", "data": 12.5})

    runner, url = await _server(record)
    try:
        async with KieClient(url, url, KEY) as kie:
            assert await kie.credits() == Decimal("12.5")
    finally:
        await runner.cleanup()
    assert headers[0]["User-Agent"] == "kiebot/0.1" and headers[0]["Authorization"] == f"Bearer {KEY}"


def test_record_parsing_is_tolerant(caplog: pytest.LogCaptureFixture) -> None:
    record = TaskRecord.from_data({"taskId": "t", "model": "m", "state": "success", "resultJson": "{not json", "param": "[]"})
    assert record.result_urls == [] and record.param is None
    assert any("resultJson" in r.getMessage() for r in caplog.records)
    assert TaskRecord.from_data({"taskId": "t", "state": "failed"}).failed
    odd = TaskRecord.from_data({"taskId": "t", "state": "rendering", "progress": "42"})
    assert odd.state == "rendering" and not odd.finished and odd.progress == 42
    text = TaskRecord.from_data({"taskId": "t", "state": "success", "resultJson": '{"resultObject": {"text": "hi"}}'})
    assert text.result_object == {"text": "hi"}


def test_error_for_record_pending() -> None:
    exc = error_for(422, "recordInfo is null")
    assert isinstance(exc, KieRecordPending) and exc.retryable and not exc.refund
    assert type(error_for(422, "prompt is required")) is KieValidation
    assert type(error_for(599, "odd")) is KieUnavailable and type(error_for(418, "odd")) is KieError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def admitted(limiter: SlidingWindowLimiter, key: str, attempts: int) -> int:
    return sum(limiter.try_acquire(key) == 0 for _ in range(attempts))


def test_rate_limiter_counts_per_window() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter({"createTask": (20, 10.0), "recordInfo": (10, 1.0)}, clock=clock)
    assert admitted(limiter, "createTask", 50) == 20
    assert admitted(limiter, "recordInfo", 50) == 10
    assert admitted(limiter, "other", 50) == 50  # no limit configured
    clock.now = 0.5
    assert admitted(limiter, "recordInfo", 50) == 0
    assert limiter.try_acquire("createTask") == pytest.approx(9.5)
    clock.now = 1.0
    assert admitted(limiter, "recordInfo", 50) == 10
    clock.now = 9.99
    assert admitted(limiter, "createTask", 50) == 0
    clock.now = 10.0
    assert admitted(limiter, "createTask", 50) == 20


async def test_rate_limiter_acquire_waits_for_the_window() -> None:
    clock = FakeClock()
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)
        clock.now += delay

    limiter = SlidingWindowLimiter({"recordInfo": (10, 1.0)}, clock=clock, sleep=sleep)
    for _ in range(25):
        async with limiter.slot("recordInfo"):
            pass  # answered at once
    assert clock.now == pytest.approx(2.0) and len(waits) == 2


async def test_client_goes_through_the_limiter(emu: RunningEmulator) -> None:
    keys: list[str] = []

    class Recording:
        @contextlib.asynccontextmanager
        async def slot(self, key: str) -> AsyncIterator[None]:
            keys.append(key)
            yield

    async with KieClient(emu.url, emu.url, KEY, rate_limiter=Recording()) as client:
        task_id = await client.create_task("google/nano-banana", {"prompt": "x"})
        with pytest.raises(KieRecordPending):
            await client.record_info(task_id)
        await client.credits()
    assert keys == ["createTask", "recordInfo", "other"]


async def test_shared_session_is_not_closed(emu: RunningEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with KieClient(emu.url, emu.url, KEY, session=http) as kie:
            await kie.credits()
        assert not http.closed


async def test_telegram_file_urls_never_leave(kie: KieClient, emu: RunningEmulator) -> None:
    leak = {"prompt": "x", "image_urls": ["http://127.0.0.1:9/file/bot123456:ABCdef_ghi-jkl/photos/a.jpg"]}
    with pytest.raises(KieValidation) as caught:
        await kie.create_task("google/nano-banana-edit", leak)
    assert "ABCdef" not in str(caught.value)
    assert emu.state.tasks == {}


async def test_upload_retried_after_server_error(kie: KieClient, emu: RunningEmulator, sleeps: Sleeps) -> None:
    await control(emu, "fail", {"code": 500, "endpoint": "upload"})
    url = await kie.upload_file(b"abc", "a.txt", "text/plain")
    assert url.endswith("a.txt") and len(sleeps.delays) == 1 and len(emu.state.uploads) == 1
    await control(emu, "fail", {"code": 451, "endpoint": "upload"})
    with pytest.raises(KieFileFetch):
        await kie.upload_file(b"abc", "a.txt", "text/plain")
