"""Runway: tasks read at `/api/v1/runway/record-detail`; `state` wait → queueing → generating → success | fail;
the video is `videoInfo.videoUrl` (its `imageUrl` is a thumbnail)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiebot.kie.families.base import Api
from kiebot.kie.families.legacy import Legacy, failed, running
from kiebot.kie.records import TaskRecord

STATES = {"wait": "waiting", "queueing": "queuing", "generating": "generating", "success": "success", "fail": "fail"}


class Runway(Legacy):
    name = "runway"

    def record(self, api: Api, task_id: str, data: Mapping[str, Any]) -> TaskRecord:
        raw = str(data.get("state") or "").strip().lower()
        state = STATES.get(raw, "generating")
        if state == "fail":
            return failed(task_id, "runway", data, raw)
        if state != "success":
            return running(task_id, "runway", state)
        info = data.get("videoInfo") if isinstance(data.get("videoInfo"), Mapping) else {}
        url = info.get("videoUrl") or info.get("video_url")
        return TaskRecord(task_id=task_id, model="runway", state="success",
                          result_urls=[url] if isinstance(url, str) and url else [])
