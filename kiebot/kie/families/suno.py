"""Suno: many endpoints, four ways of telling a task's state.

- Songs (generate, extend, covers, add vocals / accompaniment, mashup, replace section) at
  `/api/v1/generate/record-info`: `status` PENDING → TEXT_SUCCESS → FIRST_SUCCESS → SUCCESS (or CREATE_TASK_FAILED,
  GENERATE_AUDIO_FAILED, SENSITIVE_WORD_ERROR; CALLBACK_EXCEPTION means done but its callback failed). The two
  tracks are `response.sunoData[]` (`id`, `audioUrl`, `imageUrl`, `title`, `duration`, `prompt`): result items.
- Lyrics at `/api/v1/lyrics/record-info`: the same `status` words; `response.data[].text` is the result text.
- WAV and vocal removal: `successFlag` as a string (PENDING / SUCCESS / ..._FAILED); MIDI and cover art:
  `successFlag` as an int (MIDI 0 pending, 1 success, 2-3 failed; cover art 0 pending, 1 success, 2 generating,
  3 failed). MIDI answers note data, not a file: the result is a summary text of the instruments found.
- Vocal removal lists its stems in `response.originData[]` (`id`, `audio_url`, `stem_type_group_name`, `duration`):
  result items, whose ids are what MIDI's `audioId` takes (docs.kie.ai, "Get Vocal Separation Details" /
  "Generate MIDI"). `stem` names the part for the bot's texts (`stem-<name>` in the locales); an unknown part keeps
  KIE's name as its title only.
- Timestamped lyrics, style boost and persona answer at once: the answer is kept in memory under a made-up task
  id until the engine's first poll reads it. Timestamped lyrics are asked again when it is missing (a restart,
  another replica): their id names the track. A lost style or persona answer fails the job, unpaid.
"""
from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from kiebot.kie.errors import KieUnavailable
from kiebot.kie.families.base import CREATE, POLL, Api, Transport, flag, opt_str, urls_in
from kiebot.kie.families.legacy import Legacy, failed, running, unfinished
from kiebot.kie.records import TaskRecord

STATUS = {"PENDING": ("generating", 10), "TEXT_SUCCESS": ("generating", 40), "FIRST_SUCCESS": ("generating", 70),
          "SUCCESS": ("success", 100), "CALLBACK_EXCEPTION": ("success", 100)}
STRING_FLAG = {"PENDING": "generating", "SUCCESS": "success", "CALLBACK_EXCEPTION": "success"}
MIDI_FLAG = {"0": "generating", "1": "success", "2": "fail", "3": "fail"}
COVER_FLAG = {"0": "generating", "1": "success", "2": "generating", "3": "fail"}
SYNC_PREFIX = "suno-sync:"
LYRICS_PREFIX = "suno-sync:lyrics:"  # + taskId:audioId, asked again when the answer is not in memory
MAX_KEPT = 1000  # synchronous answers waiting for their first poll
# KIE's stem group names (one per `<part>Url` field of the record) → the bot's name for the part.
STEMS = {"vocals": "vocals", "instrumental": "instrumental", "backing vocals": "backing-vocals", "drums": "drums",
         "bass": "bass", "guitar": "guitar", "piano": "piano", "keyboard": "keyboard", "percussion": "percussion",
         "strings": "strings", "synth": "synth", "fx": "fx", "brass": "brass", "woodwinds": "woodwinds"}


class Suno(Legacy):
    name = "suno"

    def __init__(self) -> None:
        self._answers: OrderedDict[str, TaskRecord] = OrderedDict()

    async def create(self, http: Transport, api: Api, model: str, input: dict[str, Any],
                     callback_url: str | None) -> str:
        if api.poll is not None:
            return await super().create(http, api, model, input, callback_url)
        data = await http.call(api.create_method, api.create_path, CREATE, json_body=input)
        if set(input) == {"taskId", "audioId"}:  # timestamped lyrics: a read of the track, safe to repeat
            task_id = f"{LYRICS_PREFIX}{input['taskId']}:{input['audioId']}"
        else:
            task_id = SYNC_PREFIX + uuid.uuid4().hex
        self._keep(task_id, self.sync_record(api, task_id, data))
        return task_id

    async def poll(self, http: Transport, api: Api, task_id: str) -> TaskRecord:
        if not task_id.startswith(SYNC_PREFIX):
            return await super().poll(http, api, task_id)
        answer = self._answers.pop(task_id, None)
        if answer is None and task_id.startswith(LYRICS_PREFIX):
            parent, _, audio = task_id.removeprefix(LYRICS_PREFIX).partition(":")
            data = await http.call(api.create_method, api.create_path, POLL, json_body={"taskId": parent, "audioId": audio})
            return self.sync_record(api, task_id, data)
        if answer is None:
            return TaskRecord(task_id=task_id, model=api.create_path, state="fail", fail_code="lost",
                              fail_msg="the answer was lost in a restart")
        return answer

    def _keep(self, task_id: str, record: TaskRecord) -> None:
        self._answers[task_id] = record
        while len(self._answers) > MAX_KEPT:
            self._answers.popitem(last=False)

    # --- records -------------------------------------------------------------------------------------
    def record(self, api: Api, task_id: str, data: Mapping[str, Any]) -> TaskRecord:
        path = api.poll_path or ""
        if path.endswith("/generate/record-info"):
            return songs(task_id, data)
        if path.endswith("/lyrics/record-info"):
            return lyrics(task_id, data)
        if path.endswith("/midi/record-info"):
            return midi(task_id, data)
        if path.endswith("/cover/record-info"):
            return flagged(task_id, data, COVER_FLAG, lambda r: urls_in(r.get("images")))
        if path.endswith("/vocal-removal/record-info"):
            return flagged(task_id, data, STRING_FLAG, urls_in, stems)
        return flagged(task_id, data, STRING_FLAG, urls_in)  # WAV

    def sync_record(self, api: Api, task_id: str, data: Any) -> TaskRecord:
        if not isinstance(data, Mapping):
            raise KieUnavailable(200, f"{api.create_path} answer has no data")
        if "alignedWords" in data:
            text = timed_lyrics(data.get("alignedWords"))
        elif "personaId" in data:
            text = str(data.get("name") or data.get("personaId"))
        else:
            text = opt_str(data.get("result") or data.get("text"))
        if not text:
            raise KieUnavailable(200, f"{api.create_path} answer has no result")
        return TaskRecord(task_id=task_id, model=api.create_path, state="success", progress=100, text=text)


def songs(task_id: str, data: Mapping[str, Any]) -> TaskRecord:
    status = flag(data.get("status")).upper()
    state, progress = STATUS.get(status, ("fail", None) if _failed(status) else ("generating", None))
    if state == "fail":
        return failed(task_id, "suno", data, status)
    if state != "success":
        return running(task_id, "suno", progress=progress)
    response = data.get("response") if isinstance(data.get("response"), Mapping) else {}
    tracks = [t for t in response.get("sunoData") or [] if isinstance(t, Mapping) and t.get("audioUrl")]
    items = [track_item(t) for t in tracks]
    return TaskRecord(task_id=task_id, model="suno", state="success", progress=100,
                      result_urls=[i["url"] for i in items], items=items)


def track_item(track: Mapping[str, Any]) -> dict[str, Any]:
    seconds = track.get("duration")
    return {"url": str(track["audioUrl"]), "id": opt_str(track.get("id")), "title": opt_str(track.get("title")),
            "seconds": float(seconds) if isinstance(seconds, (int, float)) else None,
            "cover_url": opt_str(track.get("imageUrl")), "lyrics": opt_str(track.get("prompt"))}


def lyrics(task_id: str, data: Mapping[str, Any]) -> TaskRecord:
    status = flag(data.get("status")).upper()
    if status != "SUCCESS":
        return failed(task_id, "suno-lyrics", data, status) if _failed(status) else running(task_id, "suno-lyrics")
    response = data.get("response") if isinstance(data.get("response"), Mapping) else {}
    parts = [p for p in response.get("data") or [] if isinstance(p, Mapping) and p.get("text")]
    text = "\n\n".join((f"{p['title']}\n{p['text']}" if p.get("title") else str(p["text"])) for p in parts)
    return TaskRecord(task_id=task_id, model="suno-lyrics", state="success", progress=100, text=text or None)


def midi(task_id: str, data: Mapping[str, Any]) -> TaskRecord:
    if (pending := unfinished(task_id, "suno-midi", data, MIDI_FLAG)) is not None:
        return pending
    notes = data.get("midiData") if isinstance(data.get("midiData"), Mapping) else {}
    instruments = [i for i in notes.get("instruments") or [] if isinstance(i, Mapping)]
    text = "\n".join(f"{i.get('name') or '?'}: {len(i.get('notes') or [])}" for i in instruments)
    return TaskRecord(task_id=task_id, model="suno-midi", state="success", progress=100, text=text or None)


def flagged(task_id: str, data: Mapping[str, Any], table: Mapping[str, str],
            results: Callable[[Mapping[str, Any]], list[str]],
            items_of: Callable[[Mapping[str, Any]], list[dict[str, Any]]] | None = None) -> TaskRecord:
    status = flag(data.get("successFlag"))
    state = table.get(status.upper(), "fail" if _failed(status.upper()) else "generating")
    if state == "fail":
        return failed(task_id, "suno", data, status)
    if state != "success":
        return running(task_id, "suno")
    response = data.get("response") if isinstance(data.get("response"), Mapping) else {}
    items = items_of(response) if items_of else []
    if items:
        return TaskRecord(task_id=task_id, model="suno", state="success", progress=100,
                          result_urls=[i["url"] for i in items], items=items)
    urls = [u for u in results(response) if u != response.get("originUrl")]
    return TaskRecord(task_id=task_id, model="suno", state="success", progress=100, result_urls=urls)


def stems(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The separated parts as result items (not the original track); [] when the record lists none."""
    parts = [p for p in response.get("originData") or [] if isinstance(p, Mapping) and p.get("audio_url")
             and p.get("audio_url") != response.get("originUrl")]
    return [stem_item(p) for p in parts if str(p.get("stem_type_group_name") or "").lower() != "origin"]


def stem_item(part: Mapping[str, Any]) -> dict[str, Any]:
    name, seconds = opt_str(part.get("stem_type_group_name")), part.get("duration")
    return {"url": str(part["audio_url"]), "id": opt_str(part.get("id")), "title": name,
            "seconds": float(seconds) if isinstance(seconds, (int, float)) else None, "cover_url": None,
            "lyrics": None, "stem": STEMS.get((name or "").lower())}


def timed_lyrics(words: Any) -> str | None:
    """Aligned words as lines "m:ss.s text", a new line where the sung text has one."""
    lines: list[str] = []
    current: list[str] = []
    start: float | None = None
    for word in words if isinstance(words, list) else []:
        if not isinstance(word, Mapping) or not isinstance(word.get("word"), str):
            continue
        if start is None and isinstance(word.get("startS"), (int, float)):
            start = float(word["startS"])
        current.append(word["word"].strip())
        if "\n" in word["word"]:
            lines.append(_line(start, current))
            current, start = [], None
    if current:
        lines.append(_line(start, current))
    return "\n".join(lines) or None


def _line(start: float | None, words: list[str]) -> str:
    stamp = f"{int(start // 60)}:{start % 60:04.1f} " if start is not None else ""
    return stamp + " ".join(w for w in words if w)


def _failed(status: str) -> bool:
    return status.endswith("FAILED") or status.endswith("_ERROR")
