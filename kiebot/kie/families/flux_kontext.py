"""Flux Kontext: tasks read at `/api/v1/flux/kontext/record-info`; `successFlag` 0 generating, 1 success, 2 the task
could not be created, 3 generation failed; the image is `response.resultImageUrl`."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiebot.kie.families.base import Api
from kiebot.kie.families.legacy import Legacy, unfinished
from kiebot.kie.records import TaskRecord

SUCCESS_FLAG = {"0": "generating", "1": "success", "2": "fail", "3": "fail"}


class FluxKontext(Legacy):
    name = "flux_kontext"

    def record(self, api: Api, task_id: str, data: Mapping[str, Any]) -> TaskRecord:
        if (pending := unfinished(task_id, "flux-kontext", data, SUCCESS_FLAG)) is not None:
            return pending
        response = data.get("response") if isinstance(data.get("response"), Mapping) else {}
        url = response.get("resultImageUrl")
        return TaskRecord(task_id=task_id, model="flux-kontext", state="success",
                          result_urls=[url] if isinstance(url, str) and url else [])
