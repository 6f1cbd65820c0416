"""4o Image: tasks read at `/api/v1/gpt4o-image/record-info`; `successFlag` 0 generating, 1 success, 2 failed (or
the text `status` GENERATING / SUCCESS / CREATE_TASK_FAILED / GENERATE_FAILED); `progress` is a string "0.00"-"1.00";
the variants are `response.resultUrls` (delivered as one album)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiebot.kie.families.base import Api, flag, fraction_progress, urls_in
from kiebot.kie.families.legacy import Legacy, failed, running
from kiebot.kie.records import TaskRecord

SUCCESS_FLAG = {"0": "generating", "1": "success", "2": "fail"}
STATUS = {"GENERATING": "generating", "SUCCESS": "success", "CREATE_TASK_FAILED": "fail", "GENERATE_FAILED": "fail"}


class Gpt4oImage(Legacy):
    name = "gpt4o_image"

    def record(self, api: Api, task_id: str, data: Mapping[str, Any]) -> TaskRecord:
        status = flag(data.get("successFlag"))
        state = SUCCESS_FLAG.get(status) or STATUS.get(flag(data.get("status")).upper(), "generating")
        if state == "fail":
            return failed(task_id, "gpt4o-image", data, flag(data.get("status")) or f"successFlag {status}")
        if state != "success":
            return running(task_id, "gpt4o-image", progress=fraction_progress(data.get("progress")))
        response = data.get("response") if isinstance(data.get("response"), Mapping) else {}
        return TaskRecord(task_id=task_id, model="gpt4o-image", state="success", progress=100,
                          result_urls=urls_in(response.get("resultUrls")))
