"""What the model-specific ("older") APIs share: the schema is the whole JSON body, `callBackUrl` goes in the body
(a placeholder when the deployment has no PUBLIC_URL: Suno requires one, and polling still finds the result), the
task is read with `GET <poll>?taskId=`, and each family maps its own status field to the normalized state."""
from __future__ import annotations

import json
from abc import ABC
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kiebot.kie.errors import KieUnavailable
from kiebot.kie.families.base import CREATE, POLL, Api, Family, Transport, flag, opt_str, task_id_of
from kiebot.kie.records import TaskRecord


class Legacy(Family, ABC):
    """create: POST the input as the body; poll: GET the family's record endpoint. Subclasses map the record."""

    async def create(self, http: Transport, api: Api, model: str, input: dict[str, Any],
                     callback_url: str | None) -> str:
        body = {**input, "callBackUrl": callback_url or http.placeholder_callback_url}
        data = await http.call(api.create_method, api.create_path, CREATE, json_body=body)
        task_id = task_id_of(data)
        if not task_id:
            raise KieUnavailable(200, f"{api.create_path} answer has no taskId", ambiguous=True)
        return task_id

    async def poll(self, http: Transport, api: Api, task_id: str) -> TaskRecord:
        if api.poll_path is None:
            raise KieUnavailable(200, f"{api.create_path} has no record endpoint")
        data = await http.call("GET", api.poll_path, POLL, params={"taskId": task_id})
        if not isinstance(data, Mapping):
            raise KieUnavailable(200, f"{api.poll_path} answer has no record")
        return replace(self.record(api, task_id, data), param=request_of(data))


def request_of(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The create body KIE kept with the task (`paramJson`, `param` or `generateParam`; a JSON string or an object):
    the callback check reads its `callBackUrl`."""
    for key in ("paramJson", "param", "generateParam"):
        value = data.get(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if isinstance(value, dict):
            return value
    return None


def failure(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(code, message) of a failed record: `errorCode`/`errorMessage`, or `failCode`/`failMsg`."""
    code = opt_str(data.get("errorCode", data.get("failCode")))
    message = opt_str(data.get("errorMessage", data.get("failMsg")))
    return code, message


def running(task_id: str, model: str, state: str = "generating", progress: int | None = None) -> TaskRecord:
    return TaskRecord(task_id=task_id, model=model, state=state, progress=progress)


def unfinished(task_id: str, model: str, data: Mapping[str, Any], table: Mapping[str, str]) -> TaskRecord | None:
    """The record of a task whose `successFlag` (read through `table`) says it failed or still runs (an unknown value:
    still running, the timeout ends it); None once it succeeded, for the family to read its result."""
    status = flag(data.get("successFlag"))
    state = table.get(status, "generating")
    if state == "fail":
        return failed(task_id, model, data, f"successFlag {status}")
    return None if state == "success" else running(task_id, model)


def failed(task_id: str, model: str, data: Mapping[str, Any], status: str) -> TaskRecord:
    code, message = failure(data)
    return TaskRecord(task_id=task_id, model=model, state="fail", fail_code=code or status, fail_msg=message or status)
