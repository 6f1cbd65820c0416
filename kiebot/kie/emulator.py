"""KIE.ai API emulator: a real aiohttp server for tests and operators' dry runs (`kiebot emulate-kie`).

It serves the main API and the upload host on one port (point both KIE_API_BASE and KIE_UPLOAD_BASE at it):

    POST /api/v1/jobs/createTask        validates `input` against the model's JSON Schema (422 with a reason),
                                        unknown model → 422, missing callBackUrl for callback-only models → 422,
                                        balance below the model's price → 402
    GET  /api/v1/jobs/recordInfo        `recordInfo is null` (422) for `null_record_s`, then
                                        waiting → queuing → generating → success | fail; unknown id → 404
    GET  /api/v1/chat/credit            the balance (default 10000), lowered by the model's price on success
    POST /api/v1/common/download-url    a temporary link for one of our /files/ URLs; other URLs → 422
    POST /api/file-stream-upload        multipart: file, uploadPath, fileName
    POST /api/file-base64-upload        JSON: base64Data (data URL or bare base64), uploadPath, fileName
    POST /api/file-url-upload           JSON: fileUrl, uploadPath, fileName (the emulator fetches it)
    GET  /files/<name>                  uploaded files and generated results

Results are real files: a PNG (JPEG with output_format=jpeg) sized from aspect_ratio / image_size / resolution
(1:1 at 1K → 1024×1024), a header-only MP4 carrying duration and size, or a WAV. `param` is the create body as a
JSON string, `resultJson` is `{"resultUrls": [...]}` as a JSON string; `progress` is set only for Sora models.
With `api_key` set, a wrong or missing Bearer token answers code 401. When the create body had `callBackUrl`,
the final record is POSTed there (plus consumeCredits / remainedCredits), signed with `X-Webhook-Timestamp`
and `X-Webhook-Signature` = base64(HMAC-SHA256(key, taskId + "." + ts)) when `webhook_hmac_key` is set.
Callback failures are logged and ignored.

Control API (no auth):

    POST /_emulator/fail          {"code": 402, "times": 1, "endpoint": "any", "retry_after": 1}
                                  the next `times` calls to `endpoint` (createTask | recordInfo | upload | credit |
                                  downloadUrl | any) answer `code`: HTTP 429 for 429, HTTP 500 for 500, otherwise
                                  HTTP 200 with the code in the body. `retry_after` adds a Retry-After header.
                                  {"mode": "malformed", "times": 1, "endpoint": "any", "status": 200} answers HTML.
    POST /_emulator/task-outcome  {"outcome": "fail", "fail_code": "500", "fail_msg": "...", "times": 1}
                                  {"outcome": "slow", "generate_s": 30, "times": 1}: applies to the next new tasks
    POST /_emulator/credits       {"credits": 5}: set the balance
    POST /_emulator/reset         forget tasks, uploads, files, faults and outcomes; restore the balance
    GET  /_emulator/tasks         {"tasks": [{"taskId", "model", "input", "callBackUrl", "state", "callbacks"}, ...]}
                                  (`input`: the whole body for the model-specific APIs; `callbacks`: those sent,
                                  each {"stage", "status", "answer"})
    GET  /_emulator/uploads       {"uploads": [{"fileName", "uploadPath", "mimeType", "fileSize", "downloadUrl"}]}
    GET  /_emulator/calls         {"calls": {"createTask": 3, "recordInfo": 7, ...}}: API calls received since the
                                  last reset, faults included (to measure how many calls a generation costs)

The model-specific APIs (Veo 3.1, Suno, Runway, Aleph, 4o Image, Flux Kontext) are served at their own paths for
every catalogue model with an `api` entry, each family with its own record shape, status words and callbacks
(emulator_families.py; staged Suno callbacks; the synchronous endpoints answer at once).

Stricter than KIE on purpose: an input holding a Telegram file URL (`/file/bot<token>/`) is refused with 422,
so tests catch a leaked bot token.

Prompt magic for manual dry runs: an input string containing `[fail]` makes the task fail, `[slow]` makes it
generate for 30 s.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from kiebot.kie import emulator_families as families
from kiebot.kie.emulator_models import EmuModel, load_models
from kiebot.kie.errors import contains_telegram_file_url
from kiebot.kie.fakemedia import make_result

log = logging.getLogger("kiebot.kie.emulator")

MESSAGES = {
    400: "Bad request",
    401: "You do not have access permissions",
    402: "The current credits are insufficient. Please top up.",
    404: "Task not found",
    408: "Upstream timeout",
    422: "Validation error",
    429: "Too many requests, please slow down",
    433: "Sub-key usage limit exceeded",
    451: "Failed to fetch the input file",
    455: "Service is under maintenance",
    500: "Internal server error",
    501: "Generation failed",
    505: "This feature is disabled",
    531: "Generation failed, credits refunded",
    550: "Queue is full",
}
_ENDPOINTS = {
    "/api/v1/jobs/createTask": "createTask",
    "/api/v1/jobs/recordInfo": "recordInfo",
    "/api/v1/chat/credit": "credit",
    "/api/v1/common/download-url": "downloadUrl",
    "/api/file-stream-upload": "upload",
    "/api/file-base64-upload": "upload",
    "/api/file-url-upload": "upload",
}
SLOW_GENERATE_S = 30.0


@dataclass(frozen=True)
class EmulatorTimings:
    """Seconds spent in each phase. `null_record_s` is part of `waiting`, during which recordInfo is null."""

    null_record_s: float = 0.3
    queue_s: float = 0.5
    generate_s: float = 1.5
    wait_s: float = 0.1


@dataclass
class Fault:
    code: int | None
    endpoint: str = "any"
    times: int = 1
    malformed: bool = False
    status: int = 200
    retry_after: float | None = None


@dataclass
class Outcome:
    outcome: str  # fail | slow | success
    times: int = 1
    fail_code: str = "500"
    fail_msg: str = "Internal server error"
    generate_s: float = SLOW_GENERATE_S


@dataclass
class EmuTask:
    task_id: str
    model: EmuModel
    body: dict[str, Any]
    base_url: str
    created_ms: int
    state: str = "waiting"
    visible: bool = False
    result_urls: list[str] = field(default_factory=list)
    fail_code: str | None = None
    fail_msg: str | None = None
    consumed: Decimal = Decimal(0)
    generating_since: float | None = None
    generate_s: float = 0.0
    complete_ms: int | None = None
    stage: str = ""  # Suno songs: text → first → complete
    outputs: list[dict[str, Any]] = field(default_factory=list)  # model-specific APIs: emulator_families
    callbacks: list[dict[str, Any]] = field(default_factory=list)  # sent: {"stage", "status", "answer"}

    @property
    def api(self) -> dict[str, Any]:
        return self.model.api

    @property
    def model_id(self) -> str:
        return self.model.id

    @property
    def input(self) -> dict[str, Any]:
        """What the model's schema describes: `input` for the market API, the whole body for the others."""
        return self.body if self.model.api else (self.body.get("input") or {})

    @property
    def progress(self) -> float:
        if self.state == "success":
            return 1.0
        if self.generating_since is None or self.generate_s <= 0:
            return 0.0
        return min(0.99, (time.monotonic() - self.generating_since) / self.generate_s)


@dataclass
class EmulatorState:
    models: dict[str, EmuModel]
    timings: EmulatorTimings
    api_key: str | None = None
    public_base: str | None = None
    webhook_hmac_key: str | None = None
    start_credits: Decimal = Decimal(10000)
    credits: Decimal = Decimal(10000)
    tasks: dict[str, EmuTask] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    jobs: set[asyncio.Task[None]] = field(default_factory=set)
    http: aiohttp.ClientSession | None = None
    calls: Counter[str] = field(default_factory=Counter)
    endpoints: dict[str, str] = field(default_factory=lambda: dict(_ENDPOINTS))  # path → name (faults, calls, auth)
    routes: dict[tuple[str, str], EmuModel] = field(default_factory=dict)  # (method, create path) → model
    upgrades: dict[tuple[str, str], EmuTask] = field(default_factory=dict)  # Veo 1080p: (taskId, index) → task

    def reset(self) -> None:
        self.calls.clear()
        for job in self.jobs:
            job.cancel()
        self.jobs.clear()
        self.tasks.clear()
        self.files.clear()
        self.uploads.clear()
        self.faults.clear()
        self.outcomes.clear()
        self.upgrades.clear()
        self.credits = self.start_credits

    def take_fault(self, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint in ("any", endpoint):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def take_outcome(self) -> Outcome | None:
        if not self.outcomes:
            return None
        outcome = self.outcomes[0]
        outcome.times -= 1
        if outcome.times <= 0:
            self.outcomes.pop(0)
        return outcome


STATE: web.AppKey[EmulatorState] = web.AppKey("kie_emulator_state", EmulatorState)


# --- helpers ---------------------------------------------------------------------------------------


def envelope(code: int, msg: str, data: Any = None, *, status: int = 200, **extra: Any) -> web.Response:
    return web.json_response({"code": code, "msg": msg, "data": data, **extra}, status=status)


def error(code: int, msg: str | None = None, *, retry_after: float | None = None) -> web.Response:
    """An error answer the way KIE sends it: real HTTP 429/500, everything else HTTP 200 with the body code."""
    status = code if code in (429, 500) else 200
    response = envelope(code, msg or MESSAGES.get(code, "Error"), status=status)
    if retry_after is not None:
        response.headers["Retry-After"] = f"{retry_after:g}"
    return response


def _now_ms() -> int:
    return int(time.time() * 1000)


def _base_url(state: EmulatorState, request: web.Request) -> str:
    return (state.public_base or f"{request.scheme}://{request.host}").rstrip("/")


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _store_file(state: EmulatorState, base: str, name: str, content: bytes, mime: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[-80:] or "file"
    key = f"{uuid.uuid4().hex[:12]}-{safe}"
    state.files[key] = (content, mime)
    return f"{base}/files/{key}"


# --- middlewares -------------------------------------------------------------------------------------


@web.middleware
async def log_requests(request: web.Request, handler: Any) -> web.StreamResponse:
    started = time.monotonic()
    response = await handler(request)
    log.info("%s %s -> %s (%.0f ms)", request.method, request.path, response.status, (time.monotonic() - started) * 1000)
    return response


@web.middleware
async def inject_faults(request: web.Request, handler: Any) -> web.StreamResponse:
    endpoint = request.app[STATE].endpoints.get(request.path)
    if endpoint:
        request.app[STATE].calls[endpoint] += 1
    fault = request.app[STATE].take_fault(endpoint) if endpoint else None
    if fault is None:
        return await handler(request)
    if fault.malformed:
        html = "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
        return web.Response(text=html, status=fault.status, content_type="text/html")
    return error(fault.code or 500, retry_after=fault.retry_after)


@web.middleware
async def check_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    key = request.app[STATE].api_key
    if key and request.path in request.app[STATE].endpoints:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
            return error(401)
    return await handler(request)


# --- market API ------------------------------------------------------------------------------------


async def create_task(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _json_body(request)
    if body is None:
        return error(422, "Request body must be a JSON object")
    model = state.models.get(str(body.get("model", "")))
    if model is None:
        return error(422, f"Model {body.get('model')!r} is not supported")
    if not isinstance(body.get("input"), dict):
        return error(422, "input must be an object")
    if model.callback_required and not body.get("callBackUrl"):
        return error(422, "callBackUrl is required for this model")
    if contains_telegram_file_url(body["input"]):  # stricter than KIE on purpose: tests must catch token leaks
        return error(422, "input contains a Telegram file URL (it carries the bot token)")
    reason = model.validate(body["input"])
    if reason:
        return error(422, reason)
    if state.credits < model.price(body["input"]):
        return error(402)
    task = EmuTask(uuid.uuid4().hex, model, body, _base_url(state, request), _now_ms())
    state.tasks[task.task_id] = task
    job = asyncio.get_running_loop().create_task(_run_task(state, task))
    state.jobs.add(job)
    job.add_done_callback(state.jobs.discard)
    return envelope(200, "success", {"taskId": task.task_id})


async def record_info(request: web.Request) -> web.Response:
    state = request.app[STATE]
    task = state.tasks.get(request.query.get("taskId", ""))
    if task is None:
        return error(404, "Task not found")
    if not task.visible:
        return error(422, "recordInfo is null")
    return envelope(200, "success", record_data(task))


def record_data(task: EmuTask) -> dict[str, Any]:
    done = task.state in ("success", "fail")
    data: dict[str, Any] = {
        "taskId": task.task_id,
        "model": task.model.id,
        "state": task.state,
        "param": json.dumps(task.body),
        "resultJson": json.dumps({"resultUrls": task.result_urls}) if task.state == "success" else "",
        "failCode": task.fail_code,
        "failMsg": task.fail_msg,
        "costTime": (task.complete_ms - task.created_ms) if task.complete_ms else None,
        "createTime": task.created_ms,
        "updateTime": task.complete_ms or _now_ms(),
    }
    if done:
        data["completeTime"] = task.complete_ms
    if "sora" in task.model.id:  # only Sora 2 reports progress
        data["progress"] = _progress(task)
    return data


def _progress(task: EmuTask) -> int:
    return int(task.progress * 100)


async def _run_task(state: EmulatorState, task: EmuTask) -> None:
    timings, outcome = state.timings, _outcome_for(state, task)
    await asyncio.sleep(timings.null_record_s)
    task.visible = True
    await asyncio.sleep(timings.wait_s)
    task.state = "queuing"
    await asyncio.sleep(timings.queue_s)
    task.state, task.generating_since = "generating", time.monotonic()
    task.generate_s = outcome.generate_s if outcome.outcome == "slow" else timings.generate_s
    if families.is_song(task) and outcome.outcome != "fail":
        await _song_stages(state, task)  # text → first → complete, a callback at each
    else:
        await asyncio.sleep(task.generate_s)
    if outcome.outcome == "fail":
        task.fail_code, task.fail_msg = outcome.fail_code, outcome.fail_msg
        task.state = "fail"
    else:
        _finish_success(state, task)
    task.complete_ms = _now_ms()
    callback = task.body.get("callBackUrl")
    if callback:
        await send_callback(state, task, str(callback))


async def _song_stages(state: EmulatorState, task: EmuTask) -> None:
    task.outputs = families.make_outputs(task, _storer(state, task))
    for stage in ("text", "first"):
        await asyncio.sleep(task.generate_s / 3)
        task.stage = stage
        if task.body.get("callBackUrl"):
            await send_callback(state, task, str(task.body["callBackUrl"]))
    await asyncio.sleep(task.generate_s / 3)
    task.stage = "complete"


def _storer(state: EmulatorState, task: EmuTask) -> Any:
    return lambda name, content, mime: _store_file(state, task.base_url, name, content, mime)


def _outcome_for(state: EmulatorState, task: EmuTask) -> Outcome:
    texts = " ".join(v for v in task.input.values() if isinstance(v, str))
    injected = state.take_outcome()
    if injected is not None:
        return replace(injected)
    if "[fail]" in texts:
        return Outcome("fail")
    if "[slow]" in texts:
        return Outcome("slow")
    return Outcome("success")


def _finish_success(state: EmulatorState, task: EmuTask) -> None:
    if task.model.api:
        task.outputs = task.outputs or families.make_outputs(task, _storer(state, task))
        task.result_urls = [o["url"] for o in task.outputs if o.get("url")]
    else:
        content, ext, mime = make_result(task.model.category, task.input)
        task.result_urls = [_store_file(state, task.base_url, f"{task.task_id}.{ext}", content, mime)]
    task.consumed = task.model.price(task.input)
    state.credits -= task.consumed
    task.state = "success"


async def send_callback(state: EmulatorState, task: EmuTask, url: str) -> None:
    ok = task.state == "success"
    data = {**record_data(task), "consumeCredits": float(task.consumed), "remainedCredits": float(state.credits)}
    body = families.callback(task) if task.model.api else {
        "code": 200 if ok else 501,
        "msg": "Playground task completed successfully." if ok else "Playground task failed.",
        "data": data,
    }
    headers = sign_headers(state.webhook_hmac_key, task.task_id) if state.webhook_hmac_key else {}
    try:
        assert state.http is not None
        async with state.http.post(url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=15)) as resp:
            log.info("callback %s -> HTTP %s", task.task_id, resp.status)
            answer = await resp.text()
        task.callbacks.append({"stage": task.stage or task.state, "status": resp.status, "answer": answer[:200]})
    except (TimeoutError, aiohttp.ClientError, AssertionError) as exc:
        log.warning("callback %s failed: %s", task.task_id, type(exc).__name__)


def sign_headers(key: str, task_id: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(key.encode(), f"{task_id}.{ts}".encode(), hashlib.sha256).digest()
    return {"X-Webhook-Timestamp": ts, "X-Webhook-Signature": base64.b64encode(digest).decode()}


# --- model-specific APIs (Veo, Suno, Runway, Aleph, 4o Image, Flux Kontext) ------------------------


async def legacy_create(request: web.Request) -> web.Response:
    """A family's create endpoint: the schema covers the whole body (or the query); a task, or an answer at once."""
    state = request.app[STATE]
    model = state.routes[(request.method, request.path)]
    body = _typed_query(model, request.query) if model.api.get("scope") == "query" else await _json_body(request)
    if body is None:
        return error(422, "Request body must be a JSON object")
    if contains_telegram_file_url(body):
        return error(422, "input contains a Telegram file URL (it carries the bot token)")
    reason = model.validate(body)
    if reason:
        return error(422, reason)
    if state.credits < model.price(body):
        return error(402)
    if model.api.get("poll") is None:
        return _answer_at_once(state, request, model, body)
    task = EmuTask(uuid.uuid4().hex, model, body, _base_url(state, request), _now_ms(), visible=True)
    state.tasks[task.task_id] = task
    job = asyncio.get_running_loop().create_task(_run_task(state, task))
    state.jobs.add(job)
    job.add_done_callback(state.jobs.discard)
    return envelope(200, "success", {"taskId": task.task_id})


def _typed_query(model: EmuModel, query: Any) -> dict[str, Any]:
    """Query values typed as the schema says (index=0 is an integer)."""
    props = model.schema.get("properties") or {}
    typed: dict[str, Any] = {}
    for name, value in query.items():
        kind = (props.get(name) or {}).get("type")
        typed[name] = int(value) if kind == "integer" and value.lstrip("-").isdigit() else value
    return typed


def _answer_at_once(state: EmulatorState, request: web.Request, model: EmuModel, body: dict[str, Any]) -> web.Response:
    """Synchronous endpoints. The Veo 1080p upgrade answers "still processing" until its generation time passed."""
    if model.id == "veo3.1/get-1080p-video":
        key = (str(body.get("taskId")), str(body.get("index", 0)))
        task = state.upgrades.get(key)
        if task is None:
            task = EmuTask(uuid.uuid4().hex, model, body, _base_url(state, request), _now_ms(), visible=True,
                           state="generating", generating_since=time.monotonic(), generate_s=state.timings.generate_s)
            state.upgrades[key] = state.tasks[task.task_id] = task
        if task.state != "success" and task.progress < 0.99:
            return envelope(200, "1080P is processing. It should be ready in 1-2 minutes.", None)
        if task.state != "success":
            content = make_result("video", {"resolution": "1080p", "aspect_ratio": "16:9", "duration": 8})[0]
            task.result_urls = [_store_file(state, task.base_url, f"{task.task_id}-1080p.mp4", content, "video/mp4")]
            task.state, task.complete_ms = "success", _now_ms()
        return envelope(200, "success", {"resultUrl": task.result_urls[0]})
    task = EmuTask(uuid.uuid4().hex, model, body, _base_url(state, request), _now_ms(), visible=True, state="success")
    task.complete_ms = task.created_ms
    task.consumed = model.price(body)
    state.credits -= task.consumed
    state.tasks[task.task_id] = task
    return envelope(200, "success", families.sync_answer(model.id, body, task.task_id))


async def legacy_record(request: web.Request) -> web.Response:
    """A family's record endpoint: the task in that family's shape and status words."""
    state = request.app[STATE]
    task = state.tasks.get(request.query.get("taskId", ""))
    if task is None or not task.model.api or families.poll_path(task) != request.path:
        return error(404, "Task not found")
    return envelope(200, "success", families.record(task))


def _add_legacy_routes(app: web.Application, state: EmulatorState) -> None:
    polls: set[str] = set()
    for model in state.models.values():
        if not model.api.get("create"):
            continue
        method, path = str(model.api["create"]).split(" ", 1)
        state.routes[(method, path)] = model
        state.endpoints[path] = "createTask"
        app.router.add_route(method, path, legacy_create)
        if model.api.get("poll"):
            polls.add(str(model.api["poll"]).split(" ", 1)[1])
    for path in sorted(polls):
        state.endpoints[path] = "recordInfo"
        app.router.add_get(path, legacy_record)


async def credit(request: web.Request) -> web.Response:
    balance = request.app[STATE].credits
    return envelope(200, "success", int(balance) if balance == balance.to_integral() else float(balance))


async def download_url(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _json_body(request) or {}
    url = str(body.get("url", ""))
    path = urlsplit(url).path
    if not path.startswith("/files/") or path.removeprefix("/files/") not in state.files:
        return error(422, "Only KIE-generated file URLs are supported")
    return envelope(200, "success", f"{url}?expires={int(time.time()) + 1200}")


# --- upload host -----------------------------------------------------------------------------------


def _upload_answer(
    state: EmulatorState, request: web.Request, content: bytes, name: str, path: str, mime: str
) -> web.Response:
    url = _store_file(state, _base_url(state, request), name, content, mime)
    info = {"fileName": name, "uploadPath": path, "mimeType": mime, "fileSize": len(content), "downloadUrl": url}
    state.uploads.append(info)
    data = {
        "fileName": name,
        "filePath": f"{path}/{name}",
        "downloadUrl": url,
        "fileSize": len(content),
        "mimeType": mime,
        "uploadedAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return envelope(200, "File uploaded successfully", data, success=True)


async def upload_stream(request: web.Request) -> web.Response:
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return error(400, "file is required")
    content = upload.file.read()
    name = str(form.get("fileName") or upload.filename or "file")
    mime = upload.content_type or "application/octet-stream"
    return _upload_answer(request.app[STATE], request, content, name, str(form.get("uploadPath", "")), mime)


async def upload_base64(request: web.Request) -> web.Response:
    body = await _json_body(request) or {}
    raw = str(body.get("base64Data", ""))
    mime = "application/octet-stream"
    match = re.match(r"data:([^;,]+);base64,", raw)
    if match:
        mime, raw = match.group(1), raw[match.end():]
    try:
        content = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return error(400, "base64Data is not valid base64")
    name = str(body.get("fileName") or "file")
    return _upload_answer(request.app[STATE], request, content, name, str(body.get("uploadPath", "")), mime)


async def upload_url(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _json_body(request) or {}
    url = str(body.get("fileUrl", ""))
    try:
        assert state.http is not None
        async with state.http.get(url, timeout=aiohttp.ClientTimeout(total=30)) as resp:
            resp.raise_for_status()
            content, mime = await resp.read(), resp.content_type
    except (TimeoutError, aiohttp.ClientError, AssertionError, ValueError):
        return error(451, "Failed to fetch the file from fileUrl")
    name = str(body.get("fileName") or urlsplit(url).path.rsplit("/", 1)[-1] or "file")
    return _upload_answer(state, request, content, name, str(body.get("uploadPath", "")), mime)


async def serve_file(request: web.Request) -> web.Response:
    entry = request.app[STATE].files.get(request.match_info["name"])
    if entry is None:
        raise web.HTTPNotFound()
    content, mime = entry
    return web.Response(body=content, content_type=mime)


# --- control API -----------------------------------------------------------------------------------


async def control_fail(request: web.Request) -> web.Response:
    body = await _json_body(request) or {}
    malformed = body.get("mode") == "malformed"
    if not malformed and not isinstance(body.get("code"), int):
        return web.json_response({"ok": False, "error": "code (int) or mode=malformed is required"}, status=400)
    fault = Fault(
        code=body.get("code"),
        endpoint=str(body.get("endpoint", "any")),
        times=int(body.get("times", 1)),
        malformed=malformed,
        status=int(body.get("status", 200)),
        retry_after=body.get("retry_after"),
    )
    request.app[STATE].faults.append(fault)
    return web.json_response({"ok": True})


async def control_outcome(request: web.Request) -> web.Response:
    body = await _json_body(request) or {}
    if body.get("outcome") not in ("fail", "slow", "success"):
        return web.json_response({"ok": False, "error": "outcome must be fail, slow or success"}, status=400)
    outcome = Outcome(
        outcome=body["outcome"],
        times=int(body.get("times", 1)),
        fail_code=str(body.get("fail_code", "500")),
        fail_msg=str(body.get("fail_msg", "Internal server error")),
        generate_s=float(body.get("generate_s", SLOW_GENERATE_S)),
    )
    request.app[STATE].outcomes.append(outcome)
    return web.json_response({"ok": True})


async def control_credits(request: web.Request) -> web.Response:
    body = await _json_body(request) or {}
    request.app[STATE].credits = Decimal(str(body.get("credits", 0)))
    return web.json_response({"ok": True})


async def control_reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.json_response({"ok": True})


async def control_tasks(request: web.Request) -> web.Response:
    tasks = [
        {
            "taskId": t.task_id,
            "model": t.model.id,
            "input": t.input,
            "callBackUrl": t.body.get("callBackUrl"),
            "state": t.state,
            "callbacks": t.callbacks,
        }
        for t in request.app[STATE].tasks.values()
    ]
    return web.json_response({"tasks": tasks})


async def control_uploads(request: web.Request) -> web.Response:
    return web.json_response({"uploads": request.app[STATE].uploads})


async def control_calls(request: web.Request) -> web.Response:
    return web.json_response({"calls": dict(request.app[STATE].calls)})


# --- app and servers -------------------------------------------------------------------------------


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    state.http = aiohttp.ClientSession(headers={"User-Agent": "kie-emulator/0.1"})
    yield
    state.reset()
    await state.http.close()
    state.http = None


def create_app(
    *,
    api_key: str | None = None,
    models_path: Path | None = None,
    public_base: str | None = None,
    timings: EmulatorTimings | None = None,
    webhook_hmac_key: str | None = None,
    credits: Decimal | int = 10000,
) -> web.Application:
    balance = Decimal(str(credits))
    state = EmulatorState(
        models=load_models(models_path),
        timings=timings or EmulatorTimings(),
        api_key=api_key or None,
        public_base=public_base,
        webhook_hmac_key=webhook_hmac_key or None,
        start_credits=balance,
        credits=balance,
    )
    app = web.Application(middlewares=[log_requests, inject_faults, check_auth], client_max_size=100 * 1024**2)
    app[STATE] = state
    app.cleanup_ctx.append(_client_session)
    app.router.add_post("/api/v1/jobs/createTask", create_task)
    app.router.add_get("/api/v1/jobs/recordInfo", record_info)
    app.router.add_get("/api/v1/chat/credit", credit)
    app.router.add_post("/api/v1/common/download-url", download_url)
    app.router.add_post("/api/file-stream-upload", upload_stream)
    app.router.add_post("/api/file-base64-upload", upload_base64)
    app.router.add_post("/api/file-url-upload", upload_url)
    app.router.add_get("/files/{name}", serve_file)
    app.router.add_post("/_emulator/fail", control_fail)
    app.router.add_post("/_emulator/task-outcome", control_outcome)
    app.router.add_post("/_emulator/credits", control_credits)
    app.router.add_post("/_emulator/reset", control_reset)
    app.router.add_get("/_emulator/tasks", control_tasks)
    app.router.add_get("/_emulator/uploads", control_uploads)
    app.router.add_get("/_emulator/calls", control_calls)
    _add_legacy_routes(app, state)
    return app


@dataclass
class RunningEmulator:
    """A started emulator; `url` serves as both KIE_API_BASE and KIE_UPLOAD_BASE."""

    app: web.Application
    runner: web.AppRunner
    url: str

    @property
    def state(self) -> EmulatorState:
        return self.app[STATE]

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_emulator(host: str = "127.0.0.1", port: int = 0, **kw: Any) -> RunningEmulator:
    """Start the emulator in the running loop (port 0 picks a free port) and return at once."""
    app = create_app(**kw)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return RunningEmulator(app, runner, f"http://{bound_host}:{bound_port}")


async def serve(host: str, port: int, **kw: Any) -> None:
    """Run the emulator until cancelled."""
    emulator = await start_emulator(host, port, **kw)
    log.info("KIE emulator listening on %s", emulator.url)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.close()


def run_emulator(host: str = "127.0.0.1", port: int = 8090, **kw: Any) -> None:
    """Blocking helper for the CLI."""
    web.run_app(create_app(**kw), host=host, port=port, access_log=None, print=None)
