"""`TaskRecord`: the typed form of a recordInfo answer (and of a callback body, which has the same fields)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("kiebot.kie")

RUNNING_STATES = frozenset({"waiting", "queuing", "generating"})
# KIE documents `fail`; some clients and older pages say `failed`: both end the task.
_STATE_ALIASES = {"failed": "fail"}


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    model: str
    state: str  # waiting | queuing | generating | success | fail, or an unknown string kept as-is
    result_urls: list[str] = field(default_factory=list)
    result_object: dict[str, Any] | None = None
    fail_code: str | None = None
    fail_msg: str | None = None
    progress: int | None = None
    cost_time_ms: int | None = None
    create_time: int | None = None
    complete_time: int | None = None
    param: dict[str, Any] | None = None
    # Per-output data, in the order of `result_urls` (Suno tracks: id, title, seconds, cover_url, lyrics).
    items: list[dict[str, Any]] = field(default_factory=list)
    text: str | None = None  # a text result (lyrics, a style description) for families that answer with text

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def failed(self) -> bool:
        return self.state == "fail"

    @property
    def finished(self) -> bool:
        """Only `success` and `fail` end a task: unknown states count as still running."""
        return self.succeeded or self.failed

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TaskRecord:
        task_id = str(data.get("taskId") or data.get("task_id") or "")
        result = _parse_json_field(data.get("resultJson"), "resultJson", task_id) or {}
        result_object = result.get("resultObject", data.get("resultObject"))
        return cls(
            task_id=task_id,
            model=str(data.get("model") or ""),
            state=_state(data.get("state")),
            result_urls=_urls(result.get("resultUrls")),
            result_object=result_object if isinstance(result_object, dict) else None,
            fail_code=_opt_str(data.get("failCode")),
            fail_msg=_opt_str(data.get("failMsg")),
            progress=_opt_int(data.get("progress")),
            cost_time_ms=_opt_int(data.get("costTime")),
            create_time=_opt_int(data.get("createTime")),
            complete_time=_opt_int(data.get("completeTime")),
            param=_parse_json_field(data.get("param"), "param", task_id),
        )


def _state(value: Any) -> str:
    state = str(value or "").strip().lower()
    return _STATE_ALIASES.get(state, state)


def _parse_json_field(value: Any, name: str, task_id: str) -> dict[str, Any] | None:
    """`param` and `resultJson` are JSON strings; a bad one is logged and read as empty, never fatal."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        log.warning("KIE task %s: %s is not valid JSON", task_id, name)
        return None
    if not isinstance(parsed, dict):
        log.warning("KIE task %s: %s is not a JSON object", task_id, name)
        return None
    return parsed


def _urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item]
    return []


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _opt_int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None
