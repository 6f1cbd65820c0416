"""The KIE emulator over real HTTP on 127.0.0.1: API shapes, task walk, callbacks, uploads and control API."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import struct
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from kiebot.kie.emulator import EmulatorTimings, RunningEmulator, start_emulator
from kiebot.kie.emulator_models import load_models

KEY = "emu-test-key"
FAST = EmulatorTimings(null_record_s=0.05, queue_s=0.05, generate_s=0.1, wait_s=0.02)
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    emulator = await start_emulator(api_key=KEY, timings=FAST, webhook_hmac_key="hook-key")
    yield emulator
    await emulator.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, url, headers=AUTH, **kw) as resp:
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text


async def create(http: aiohttp.ClientSession, emu: RunningEmulator, model: str, input: dict[str, Any], **extra: Any) -> str:
    status, body = await call(http, "POST", f"{emu.url}/api/v1/jobs/createTask", json={"model": model, "input": input, **extra})
    assert status == 200 and body["code"] == 200, body
    return body["data"]["taskId"]


async def wait_done(http: aiohttp.ClientSession, emu: RunningEmulator, task_id: str) -> tuple[dict[str, Any], list[str]]:
    seen: list[str] = []
    for _ in range(200):
        _, body = await call(http, "GET", f"{emu.url}/api/v1/jobs/recordInfo", params={"taskId": task_id})
        state = "null" if body["code"] == 422 else body["data"]["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in ("success", "fail"):
            return body["data"], seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"task never finished: {seen}")


def test_loader_reads_both_file_shapes(tmp_path: Path) -> None:
    schema = {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string"}}}
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": [{"id": "a/b", "input_schema": schema, "category": "video"}]}))
    specs = tmp_path / "specs.json"
    specs.write_text(json.dumps({"market_models": [{"id": "c/d", "schema": schema, "callback_required": True}]}))
    assert load_models(catalog)["a/b"].category == "video"
    assert load_models(specs)["c/d"].callback_required
    assert load_models()  # the default (shipped catalogue or shared specs) is found


async def test_task_walks_states_and_result_is_a_sized_png(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    task_id = await create(http, emu, "google/nano-banana", {"prompt": "a cat", "aspect_ratio": "16:9"})
    data, seen = await wait_done(http, emu, task_id)
    assert seen[0] == "null" and seen[-1] == "success"
    assert seen.index("queuing") < seen.index("generating") < seen.index("success")
    assert json.loads(data["param"])["input"]["prompt"] == "a cat"
    assert data["completeTime"] >= data["createTime"] and "progress" not in data
    url = json.loads(data["resultJson"])["resultUrls"][0]
    async with http.get(url) as resp:
        assert resp.content_type == "image/png"
        assert Image.open(io.BytesIO(await resp.read())).size == (1024, 576)


async def test_video_and_audio_results_are_real_files(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    video = await create(http, emu, "kling-2.6/text-to-video", {"prompt": "waves", "sound": False, "aspect_ratio": "9:16", "duration": "10"})
    audio = await create(http, emu, "elevenlabs/text-to-speech-turbo-2-5", {"text": "hello", "voice": "EkK5I93UQWFDigLMpZcX"})
    vdata, _ = await wait_done(http, emu, video)
    adata, _ = await wait_done(http, emu, audio)
    async with http.get(json.loads(vdata["resultJson"])["resultUrls"][0]) as resp:
        mp4 = await resp.read()
        assert resp.content_type == "video/mp4"
    assert mp4[4:8] == b"ftyp"
    mvhd = mp4.index(b"mvhd")
    timescale, duration = struct.unpack(">II", mp4[mvhd + 16 : mvhd + 24])
    assert duration / timescale == 10
    tkhd = mp4.index(b"tkhd")
    width, height = struct.unpack(">II", mp4[tkhd + 80 : tkhd + 88])
    assert (width >> 16, height >> 16) == (720, 1280)
    async with http.get(json.loads(adata["resultJson"])["resultUrls"][0]) as resp:
        with wave.open(io.BytesIO(await resp.read())) as wav:
            assert wav.getnframes() > 0


async def test_validation_unknown_model_and_callback_required(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    url = f"{emu.url}/api/v1/jobs/createTask"
    _, body = await call(http, "POST", url, json={"model": "google/nano-banana", "input": {"prompt": 5}})
    assert body["code"] == 422 and "prompt" in body["msg"] and "string" in body["msg"]
    _, body = await call(http, "POST", url, json={"model": "nope/model", "input": {}})
    assert body["code"] == 422 and "nope/model" in body["msg"]
    _, body = await call(http, "POST", url, json={"model": "kling-3.0/motion-control", "input": {}})
    assert body["code"] == 422 and "callBackUrl" in body["msg"]
    _, tasks = await call(http, "GET", f"{emu.url}/_emulator/tasks")
    assert tasks["tasks"] == []


async def test_auth_required(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{emu.url}/api/v1/chat/credit", headers={"Authorization": "Bearer wrong"}) as resp:
        assert resp.status == 200
        assert (await resp.json())["code"] == 401
    async with http.get(f"{emu.url}/api/v1/chat/credit") as resp:
        assert (await resp.json())["msg"] == "You do not have access permissions"


async def test_unknown_task_is_404(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    _, body = await call(http, "GET", f"{emu.url}/api/v1/jobs/recordInfo", params={"taskId": "missing"})
    assert body["code"] == 404


@pytest.mark.parametrize(("code", "status"), [(429, 429), (500, 500), (402, 200), (455, 200), (433, 200)])
async def test_injected_error_status_and_count(emu: RunningEmulator, http: aiohttp.ClientSession, code: int, status: int) -> None:
    await call(http, "POST", f"{emu.url}/_emulator/fail", json={"code": code, "times": 2, "endpoint": "credit"})
    for _ in range(2):
        got_status, body = await call(http, "GET", f"{emu.url}/api/v1/chat/credit")
        assert (got_status, body["code"]) == (status, code)
    got_status, body = await call(http, "GET", f"{emu.url}/api/v1/chat/credit")
    assert (got_status, body["code"]) == (200, 200)


async def test_injected_fault_only_hits_its_endpoint(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    await call(http, "POST", f"{emu.url}/_emulator/fail", json={"code": 501, "endpoint": "createTask"})
    _, body = await call(http, "GET", f"{emu.url}/api/v1/chat/credit")
    assert body["code"] == 200
    _, body = await call(http, "POST", f"{emu.url}/api/v1/jobs/createTask", json={})
    assert body["code"] == 501


async def test_malformed_mode(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    await call(http, "POST", f"{emu.url}/_emulator/fail", json={"mode": "malformed"})
    status, body = await call(http, "GET", f"{emu.url}/api/v1/chat/credit")
    assert status == 200 and isinstance(body, str) and "<html>" in body


async def test_task_outcome_and_prompt_magic(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    await call(http, "POST", f"{emu.url}/_emulator/task-outcome", json={"outcome": "fail", "fail_code": "422", "fail_msg": "nsfw"})
    first = await create(http, emu, "google/nano-banana", {"prompt": "a"})
    second = await create(http, emu, "google/nano-banana", {"prompt": "b [fail]"})
    third = await create(http, emu, "google/nano-banana", {"prompt": "c"})
    d1, _ = await wait_done(http, emu, first)
    d2, _ = await wait_done(http, emu, second)
    d3, _ = await wait_done(http, emu, third)
    assert (d1["state"], d1["failCode"], d1["failMsg"]) == ("fail", "422", "nsfw")
    assert d2["state"] == "fail" and d3["state"] == "success"


async def test_slow_outcome(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    await call(http, "POST", f"{emu.url}/_emulator/task-outcome", json={"outcome": "slow", "generate_s": 30})
    task_id = await create(http, emu, "google/nano-banana", {"prompt": "a"})
    await asyncio.sleep(0.4)
    _, body = await call(http, "GET", f"{emu.url}/api/v1/jobs/recordInfo", params={"taskId": task_id})
    assert body["data"]["state"] == "generating"


async def test_credits_decrement_and_402(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    task_id = await create(http, emu, "google/nano-banana", {"prompt": "a"})
    await wait_done(http, emu, task_id)
    _, body = await call(http, "GET", f"{emu.url}/api/v1/chat/credit")
    assert body["data"] == 10000 - 4  # nano-banana costs 4 credits
    await call(http, "POST", f"{emu.url}/_emulator/credits", json={"credits": 1})
    _, body = await call(http, "POST", f"{emu.url}/api/v1/jobs/createTask", json={"model": "google/nano-banana", "input": {"prompt": "a"}})
    assert body["code"] == 402


async def test_uploads_all_three_ways(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    content = b"\x89PNG fake bytes"
    form = aiohttp.FormData()
    form.add_field("file", content, filename="a.png", content_type="image/png")
    form.add_field("uploadPath", "tests")
    form.add_field("fileName", "a.png")
    _, stream = await call(http, "POST", f"{emu.url}/api/file-stream-upload", data=form)
    b64 = "data:image/png;base64," + base64.b64encode(content).decode()
    _, inline = await call(http, "POST", f"{emu.url}/api/file-base64-upload", json={"base64Data": b64, "uploadPath": "t", "fileName": "b.png"})
    _, fetched = await call(http, "POST", f"{emu.url}/api/file-url-upload", json={"fileUrl": stream["data"]["downloadUrl"], "uploadPath": "t"})
    for answer in (stream, inline, fetched):
        assert answer["success"] is True and answer["data"]["fileSize"] == len(content)
        async with http.get(answer["data"]["downloadUrl"]) as resp:
            assert await resp.read() == content
    _, uploads = await call(http, "GET", f"{emu.url}/_emulator/uploads")
    assert [u["fileName"] for u in uploads["uploads"]][:2] == ["a.png", "b.png"]


async def test_download_url_only_for_own_files(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    task_id = await create(http, emu, "google/nano-banana", {"prompt": "a"})
    data, _ = await wait_done(http, emu, task_id)
    result = json.loads(data["resultJson"])["resultUrls"][0]
    _, body = await call(http, "POST", f"{emu.url}/api/v1/common/download-url", json={"url": result})
    assert body["code"] == 200 and body["data"].startswith(result)
    _, body = await call(http, "POST", f"{emu.url}/api/v1/common/download-url", json={"url": "https://example.com/x.png"})
    assert body["code"] == 422


async def test_signed_callback_delivered(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    received: asyncio.Queue[tuple[dict[str, Any], dict[str, str]]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put((await request.json(), dict(request.headers)))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/kie/callback", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        task_id = await create(http, emu, "google/nano-banana", {"prompt": "a"}, callBackUrl=f"http://127.0.0.1:{port}/kie/callback")
        body, headers = await asyncio.wait_for(received.get(), 5)
    finally:
        await runner.cleanup()
    assert body["code"] == 200 and body["data"]["taskId"] == task_id and body["data"]["state"] == "success"
    assert body["data"]["consumeCredits"] == 4 and body["data"]["remainedCredits"] == 9996
    ts = headers["X-Webhook-Timestamp"]
    expected = base64.b64encode(hmac.new(b"hook-key", f"{task_id}.{ts}".encode(), hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(headers["X-Webhook-Signature"], expected)


async def test_callback_failure_is_ignored(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    task_id = await create(http, emu, "google/nano-banana", {"prompt": "a"}, callBackUrl="http://127.0.0.1:1/nowhere")
    data, _ = await wait_done(http, emu, task_id)
    assert data["state"] == "success"


async def test_reset_clears_everything(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    await create(http, emu, "google/nano-banana", {"prompt": "a"})
    await call(http, "POST", f"{emu.url}/_emulator/fail", json={"code": 500})
    await call(http, "POST", f"{emu.url}/_emulator/reset")
    _, tasks = await call(http, "GET", f"{emu.url}/_emulator/tasks")
    _, credit = await call(http, "GET", f"{emu.url}/api/v1/chat/credit")
    assert tasks["tasks"] == [] and credit == {"code": 200, "msg": "success", "data": 10000}


async def test_telegram_file_url_refused(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    body = {"model": "google/nano-banana", "input": {"prompt": "https://api.telegram.org/file/bot1:AAA/x.jpg"}}
    _, answer = await call(http, "POST", f"{emu.url}/api/v1/jobs/createTask", json=body)
    assert answer["code"] == 422 and "Telegram" in answer["msg"]


async def test_kie_rate_limits_are_enforced_when_asked(http: aiohttp.ClientSession) -> None:
    emu = await start_emulator(api_key=KEY, rate_limits={"createTask": (2, 60.0)})
    try:
        body = {"model": "google/nano-banana", "input": {"prompt": "a cat"}}
        statuses = [(await call(http, "POST", f"{emu.url}/api/v1/jobs/createTask", json=body))[0] for _ in range(3)]
        assert statuses == [200, 200, 429]
        status, _ = await call(http, "GET", f"{emu.url}/api/v1/jobs/recordInfo?taskId=x")
        assert status == 200  # recordInfo has no limit here
        async with http.get(f"{emu.url}/_emulator/calls") as resp:
            counts = await resp.json()
        assert counts["throttled"] == {"createTask": 1} and counts["calls"]["createTask"] == 3
    finally:
        await emu.close()
