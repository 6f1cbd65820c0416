"""The market API (`POST /api/v1/jobs/createTask` + `GET /api/v1/jobs/recordInfo`): most models."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiebot.kie.errors import KieUnavailable
from kiebot.kie.families.base import CREATE, POLL, Api, Family, Transport, task_id_of
from kiebot.kie.records import TaskRecord


class Market(Family):
    name = "market"

    async def create(self, http: Transport, api: Api, model: str, input: dict[str, Any],
                     callback_url: str | None) -> str:
        body: dict[str, Any] = {"model": model, "input": input}
        if callback_url:
            body["callBackUrl"] = callback_url
        task_id = task_id_of(await http.call(api.create_method, api.create_path, CREATE, json_body=body))
        if not task_id:
            raise KieUnavailable(200, "createTask answer has no taskId", ambiguous=True)
        return task_id

    async def poll(self, http: Transport, api: Api, task_id: str) -> TaskRecord:
        data = await http.call("GET", api.poll_path or "/api/v1/jobs/recordInfo", POLL, params={"taskId": task_id})
        if not isinstance(data, Mapping):
            raise KieUnavailable(200, "recordInfo answer has no record")
        return self.record(api, task_id, data)

    def record(self, api: Api, task_id: str, data: Mapping[str, Any]) -> TaskRecord:
        return TaskRecord.from_data(dict(data))
