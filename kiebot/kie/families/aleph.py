"""Runway Aleph: tasks read at `/api/v1/aleph/record-info`; `successFlag` 1 is success, 0 is "running or failed":
a non-zero `errorCode` (or an `errorMessage`) tells the failure. The video is `response.resultVideoUrl`."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiebot.kie.families.base import Api, flag
from kiebot.kie.families.legacy import Legacy, failed, running
from kiebot.kie.records import TaskRecord


class Aleph(Legacy):
    name = "aleph"

    def record(self, api: Api, task_id: str, data: Mapping[str, Any]) -> TaskRecord:
        status = flag(data.get("successFlag"))
        if status == "1":
            response = data.get("response") if isinstance(data.get("response"), Mapping) else {}
            url = response.get("resultVideoUrl")
            return TaskRecord(task_id=task_id, model="aleph", state="success",
                              result_urls=[url] if isinstance(url, str) and url else [])
        if flag(data.get("errorCode")) not in ("", "0", "200") or data.get("errorMessage"):
            return failed(task_id, "aleph", data, f"successFlag {status}")
        return running(task_id, "aleph")
