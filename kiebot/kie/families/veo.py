"""Veo 3.1: generate, extend and the 4K upgrade are tasks read at `/api/v1/veo/record-info` (`successFlag` 0
generating, 1 success, 2 failed, 3 generation failed; an int, sometimes a string); the 1080p upgrade is a
synchronous GET that answers "still processing" (no URL yet) for a minute or two, so the adapter names the task
`veo1080p:<taskId>:<index>` and each poll asks the GET again until a URL comes."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiebot.kie.errors import KieValidation
from kiebot.kie.families.base import POLL, Api, Transport, urls_in
from kiebot.kie.families.legacy import Legacy, running, unfinished
from kiebot.kie.records import TaskRecord

SUCCESS_FLAG = {"0": "generating", "1": "success", "2": "fail", "3": "fail"}
SYNC_1080P = "veo1080p:"


class Veo(Legacy):
    name = "veo"

    async def create(self, http: Transport, api: Api, model: str, input: dict[str, Any],
                     callback_url: str | None) -> str:
        if api.poll is not None:
            return await super().create(http, api, model, input, callback_url)
        task_id, index = str(input.get("taskId") or ""), int(input.get("index") or 0)
        await self._get_1080p(http, api, task_id, index)  # a refused parent fails the job at submission
        return f"{SYNC_1080P}{task_id}:{index}"

    async def poll(self, http: Transport, api: Api, task_id: str) -> TaskRecord:
        if not task_id.startswith(SYNC_1080P):
            return await super().poll(http, api, task_id)
        parent, _, index = task_id.removeprefix(SYNC_1080P).rpartition(":")
        data = await self._get_1080p(http, api, parent, int(index or 0))
        return self.record_1080p(task_id, data)

    async def _get_1080p(self, http: Transport, api: Api, parent: str, index: int) -> Any:
        params = {"taskId": parent, "index": str(index)}
        try:
            return await http.call("GET", api.create_path, POLL, params=params)
        except KieValidation as exc:  # some answers say "processing" with an error code: not a failure yet
            if "process" in exc.message.lower():
                return None
            raise

    def record_1080p(self, task_id: str, data: Any) -> TaskRecord:
        urls = urls_in(data) if isinstance(data, (Mapping, str)) else []
        if urls:
            return TaskRecord(task_id=task_id, model="veo3.1/get-1080p-video", state="success", result_urls=urls[:1])
        return running(task_id, "veo3.1/get-1080p-video")

    def record(self, api: Api, task_id: str, data: Mapping[str, Any]) -> TaskRecord:
        if (pending := unfinished(task_id, "veo", data, SUCCESS_FLAG)) is not None:
            return pending
        response = data.get("response") if isinstance(data.get("response"), Mapping) else {}
        urls = urls_in(response.get("resultUrls")) or urls_in(response.get("fullResultUrls")) or urls_in(response)
        return TaskRecord(task_id=task_id, model="veo", state="success", result_urls=urls)
