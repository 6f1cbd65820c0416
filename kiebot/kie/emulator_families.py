"""The KIE emulator's model-specific APIs: each family's result files, record shape, status words and callback body,
from docs.kie.ai's examples. The emulator (emulator.py) runs one lifecycle for every task (waiting → queuing →
generating → success | fail); these functions say how each family reports it.

Suno's song tasks go through stages (`stage`: text → first → complete), each with its own callback.
"""
from __future__ import annotations

import json
from typing import Any, Protocol

from kiebot.kie.fakemedia import make_image, make_mp4, make_wav, video_size

SONG_POLL = "/api/v1/generate/record-info"
SPLIT_STEMS = ("Vocals", "Backing Vocals", "Drums", "Bass", "Guitar")  # a few of the up to 12 KIE lists


class Task(Protocol):
    task_id: str
    body: dict[str, Any]
    state: str  # waiting | queuing | generating | success | fail
    stage: str  # Suno songs: "", text, first, complete
    outputs: list[dict[str, Any]]
    fail_code: str | None
    fail_msg: str | None
    created_ms: int
    complete_ms: int | None
    progress: float

    @property
    def api(self) -> dict[str, Any]: ...

    @property
    def model_id(self) -> str: ...


def poll_path(task: Task) -> str:
    poll = task.api.get("poll") or ""
    return poll.split(" ", 1)[-1]


def is_song(task: Task) -> bool:
    return task.api.get("family") == "suno" and poll_path(task) == SONG_POLL


# --- result files ------------------------------------------------------------------------------------
def make_outputs(task: Task, store: Any) -> list[dict[str, Any]]:
    """The task's outputs: [{"url", "kind", ...}] with real files stored by `store(name, content, mime) -> url`."""
    body, family, path, tid = task.body, task.api.get("family"), poll_path(task), task.task_id
    if family == "suno" and path == SONG_POLL:
        return [{"url": store(f"{tid}-{n}.wav", make_wav(seconds=2), "audio/wav"), "id": f"{tid[:8]}-track-{n}",
                 "title": str(body.get("title") or f"Song {n + 1}"), "duration": 2.0,
                 "image": store(f"{tid}-{n}.jpg", make_image(64, 64, "JPEG"), "image/jpeg"),
                 "prompt": str(body.get("prompt") or "")} for n in range(2)]
    if path.endswith("/lyrics/record-info"):
        return [{"text": f"[Verse]\nLyrics about {body.get('prompt', '')}", "title": f"Lyrics {n + 1}"} for n in range(2)]
    if path.endswith("/wav/record-info"):
        return [{"name": "audioWavUrl", "url": store(f"{tid}-wav.wav", make_wav(seconds=2), "audio/wav")}]
    if path.endswith("/vocal-removal/record-info"):
        groups = SPLIT_STEMS if body.get("type") == "split_stem" else ("Vocals", "Instrumental")
        return [{"name": _stem_field(group), "group": group, "id": f"{tid[:8]}-stem-{n}", "duration": 2.0,
                 "url": store(f"{tid}-stem-{n}.wav", make_wav(seconds=2), "audio/wav")} for n, group in enumerate(groups)]
    if path.endswith("/midi/record-info"):
        return [{"midi": {"state": "complete", "instruments": [
            {"name": "Drums", "notes": [{"pitch": 73, "start": 0.04, "end": 0.18, "velocity": 1}]}]}}]
    if path.endswith("/cover/record-info"):
        return [{"url": store(f"{tid}-{n}.png", make_image(512, 512), "image/png")} for n in range(2)]
    if family == "gpt4o_image":
        count = int(body.get("nVariants") or 1)
        return [{"url": store(f"{tid}-{n}.png", make_image(*_square_ish(body.get("size")), "PNG"), "image/png")}
                for n in range(count)]
    if family == "flux_kontext":
        fmt = "JPEG" if body.get("outputFormat", "jpeg") == "jpeg" else "PNG"
        ext = "jpg" if fmt == "JPEG" else "png"
        return [{"url": store(f"{tid}.{ext}", make_image(1024, 576, fmt), f"image/{fmt.lower()}")}]
    # Veo, Runway, Aleph: a video (its length from the duration asked, else 8 s for Veo, 5 s otherwise).
    seconds = int(float(body.get("duration") or (8 if family == "veo" else 5)))
    size = video_size({"aspect_ratio": body.get("aspectRatio"), "resolution": body.get("resolution") or body.get("quality")})
    return [{"url": store(f"{tid}.mp4", make_mp4(*size, seconds=seconds), "video/mp4"),
             "image": store(f"{tid}.jpg", make_image(64, 36, "JPEG"), "image/jpeg")}]


def _stem_field(group: str) -> str:
    """ "Backing Vocals" → "backingVocalsUrl", as KIE names a stem's field ("vocalUrl" for the lead vocals)."""
    if group == "Vocals":
        return "vocalUrl"
    words = group.split()
    return words[0].lower() + "".join(w.capitalize() for w in words[1:]) + "Url"


def _square_ish(size: Any) -> tuple[int, int]:
    return {"3:2": (1536, 1024), "2:3": (1024, 1536)}.get(str(size), (1024, 1024))


# --- records -----------------------------------------------------------------------------------------
def record(task: Task) -> dict[str, Any]:
    """The `data` of the family's record endpoint for this task."""
    family, path = task.api.get("family"), poll_path(task)
    base = {"taskId": task.task_id, "createTime": task.created_ms, "completeTime": task.complete_ms,
            "errorCode": None, "errorMessage": None}
    if family == "suno":
        return {**base, **_suno(task, path)}
    if family == "runway":
        return _runway(task)
    ok, failed = task.state == "success", task.state == "fail"
    error = {"errorCode": int(task.fail_code) if (task.fail_code or "").isdigit() else 500,
             "errorMessage": task.fail_msg} if failed else {}
    urls = [o["url"] for o in task.outputs]
    if family == "veo":
        return {**base, **error, "paramJson": json.dumps(task.body), "successFlag": 1 if ok else 3 if failed else 0,
                "response": {"taskId": task.task_id, "resultUrls": urls, "originUrls": [],
                             "resolution": task.body.get("resolution", "720p")} if ok else None}
    if family == "gpt4o_image":
        status = "SUCCESS" if ok else "GENERATE_FAILED" if failed else "GENERATING"
        return {**base, **error, "paramJson": json.dumps(task.body), "successFlag": 1 if ok else 2 if failed else 0,
                "status": status, "progress": f"{1.0 if ok else task.progress:.2f}",
                "response": {"resultUrls": urls} if ok else None}
    if family == "flux_kontext":
        return {**base, **error, "paramJson": json.dumps(task.body), "successFlag": 1 if ok else 3 if failed else 0,
                "response": {"originImageUrl": None, "resultImageUrl": urls[0]} if ok else None}
    # aleph: successFlag 0 means running or failed; the error code tells which.
    return {**base, **error, "paramJson": json.dumps(task.body), "successFlag": 1 if ok else 0,
            "errorCode": error.get("errorCode", 0), "errorMessage": error.get("errorMessage", ""),
            "response": {"taskId": task.task_id, "resultVideoUrl": urls[0], "resultImageUrl": task.outputs[0]["image"]}
            if ok else None}


def _suno(task: Task, path: str) -> dict[str, Any]:
    ok, failed = task.state == "success", task.state == "fail"
    if path == SONG_POLL:
        status = {"": "PENDING", "text": "TEXT_SUCCESS", "first": "FIRST_SUCCESS", "complete": "SUCCESS"}[task.stage]
        if failed:
            status = "SENSITIVE_WORD_ERROR" if "sensitive" in (task.fail_msg or "").lower() else "GENERATE_AUDIO_FAILED"
        tracks = [_track(o, n, task.stage) for n, o in enumerate(task.outputs)]
        return {"param": json.dumps(task.body), "status": status, "errorMessage": task.fail_msg if failed else None,
                "response": {"taskId": task.task_id, "sunoData": tracks}}
    if path.endswith("/lyrics/record-info"):
        status = "SUCCESS" if ok else "GENERATE_LYRICS_FAILED" if failed else "PENDING"
        return {"param": json.dumps(task.body), "status": status,
                "response": {"taskId": task.task_id, "data": [{**o, "status": "complete"} for o in task.outputs]}
                if ok else None}
    if path.endswith(("/wav/record-info", "/vocal-removal/record-info")):
        failure = "GENERATE_WAV_FAILED" if "wav" in path else "GENERATE_AUDIO_FAILED"
        flag = "SUCCESS" if ok else failure if failed else "PENDING"
        response = {o["name"]: o["url"] for o in task.outputs} if ok else None
        if ok and "vocal-removal" in path:  # each stem also with its id: what MIDI's audioId takes
            response |= {"id": None, "originUrl": None, "originData": [
                {"duration": o["duration"], "audio_url": o["url"], "stem_type_group_name": o["group"], "id": o["id"]}
                for o in task.outputs]}
        return {"musicId": task.body.get("audioId"), "successFlag": flag, "response": response,
                "errorMessage": task.fail_msg if failed else None}
    if path.endswith("/midi/record-info"):
        return {"audioId": task.body.get("audioId"), "successFlag": 1 if ok else 3 if failed else 0,
                "midiData": task.outputs[0]["midi"] if ok else None, "errorMessage": task.fail_msg if failed else None}
    # cover art: 0 pending, 2 generating, 1 success, 3 failed
    flag_value = 1 if ok else 3 if failed else 2 if task.state == "generating" else 0
    return {"successFlag": flag_value, "response": {"images": [o["url"] for o in task.outputs]} if ok else None,
            "errorMessage": task.fail_msg if failed else None}


def _track(output: dict[str, Any], index: int, stage: str) -> dict[str, Any]:
    ready = stage == "complete" or (stage == "first" and index == 0)
    return {"id": output["id"], "audioUrl": output["url"] if ready else "",
            "streamAudioUrl": output["url"] if stage else "", "imageUrl": output["image"], "prompt": output["prompt"],
            "title": output["title"], "tags": "", "duration": output["duration"] if ready else None}


def _runway(task: Task) -> dict[str, Any]:
    state = {"waiting": "wait", "queuing": "queueing"}.get(task.state, task.state)
    ok = task.state == "success"
    return {"taskId": task.task_id, "parentTaskId": "", "generateParam": task.body, "state": state,
            "videoInfo": {"videoId": task.task_id, "videoUrl": task.outputs[0]["url"],
                          "imageUrl": task.outputs[0]["image"]} if ok else None,
            "failCode": int(task.fail_code) if task.state == "fail" and (task.fail_code or "").isdigit() else None,
            "failMsg": task.fail_msg if task.state == "fail" else "", "expireFlag": 0,
            "createTime": task.created_ms}


# --- callbacks ---------------------------------------------------------------------------------------
def callback(task: Task) -> dict[str, Any]:
    """The body KIE POSTs to callBackUrl for the task's current state (each family has its own shape)."""
    family, path, tid = task.api.get("family"), poll_path(task), task.task_id
    ok = task.state == "success"
    code, msg = (200, "success") if task.state != "fail" else (501, task.fail_msg or "failed")
    urls = [o.get("url") for o in task.outputs if o.get("url")]
    if family == "suno" and path == SONG_POLL:
        kind = task.stage if task.state != "fail" else "error"
        tracks = [{"id": o["id"], "audio_url": t["audioUrl"], "image_url": o["image"], "title": o["title"],
                   "duration": t["duration"], "prompt": o["prompt"]}
                  for o, t in ((o, _track(o, n, task.stage)) for n, o in enumerate(task.outputs))]
        return {"code": code, "msg": msg, "data": {"callbackType": kind, "task_id": tid, "data": tracks}}
    if family == "suno" and path.endswith("/midi/record-info"):
        return {"task_id": tid, "code": code, "msg": msg, "data": task.outputs[0]["midi"] if ok else None}
    if family == "suno":
        return {"code": code, "msg": msg, "data": {"task_id": tid, "taskId": tid, "urls": urls}}
    if family == "runway":
        return {"code": code, "msg": msg, "data": {"task_id": tid, "video_url": urls[0] if ok else None}}
    if family == "aleph":
        return {"code": code, "msg": msg, "data": {"result_video_url": urls[0] if ok else None}, "taskId": tid}
    return {"code": code, "msg": msg, "data": {"taskId": tid, "info": {"resultUrls": urls} if ok else None}}


# --- synchronous endpoints ---------------------------------------------------------------------------
def sync_answer(model_id: str, body: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The `data` of Suno's endpoints that answer at once (timestamped lyrics, style boost, persona)."""
    if model_id == "suno/get-timestamped-lyrics":
        words = [("[Verse]\n", 0.5), ("Morning ", 1.2), ("light\n", 1.6), ("Over ", 2.4), ("the ", 2.7), ("lake", 3.0)]
        return {"alignedWords": [{"word": w, "success": True, "startS": s, "endS": s + 0.3, "palign": 0}
                                 for w, s in words], "waveformData": [0, 1, 0.5], "hootCer": 0.3, "isStreamed": False}
    if model_id == "suno/generate-persona":
        return {"personaId": f"persona-{task_id[:12]}", "name": body.get("name"), "description": body.get("description")}
    return {"taskId": task_id, "param": body.get("content"), "successFlag": "1", "creditsConsumed": 0.4,
            "result": f"{body.get('content')}: bright synths, steady groove, airy vocals, 120 bpm"}
