"""What every family adapter shares: the endpoint description (`Api`), the transport it calls KIE through, and
the `Family` interface: create(request) → task id, poll(task id) → `TaskRecord` with a normalized state.

A normalized record speaks the market API's words (`waiting`, `generating`, `success`, `fail`), whatever the family
reports (`successFlag` 0/1/2/3 as an int or a string, Suno's `status`, Runway's `state`), so the engine never
branches on families.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kiebot.kie.records import TaskRecord

CREATE, POLL = "createTask", "recordInfo"  # the client's rate-limit buckets


@dataclass(frozen=True)
class Api:
    """One model's endpoints, from the catalogue's `api` entry. `scope`: the schema is the JSON body or the query."""

    family: str = "market"
    create: str = "POST /api/v1/jobs/createTask"
    poll: str | None = "GET /api/v1/jobs/recordInfo"
    scope: str = "body"

    @classmethod
    def of(cls, entry: Mapping[str, Any] | None) -> Api:
        if not entry:
            return cls()
        return cls(str(entry.get("family") or "market"), str(entry.get("create") or cls.create),
                   entry.get("poll"), str(entry.get("scope") or "body"))

    @property
    def create_method(self) -> str:
        return self.create.split(" ", 1)[0]

    @property
    def create_path(self) -> str:
        return self.create.split(" ", 1)[1]

    @property
    def poll_path(self) -> str | None:
        return self.poll.split(" ", 1)[1] if self.poll else None


class Transport(Protocol):
    """The KIE client as an adapter uses it: one authenticated call with the envelope checked (raises KieError)."""

    placeholder_callback_url: str

    async def call(self, method: str, path: str, op: str, *, json_body: Any = None,
                   params: dict[str, str] | None = None) -> Any: ...


class Family(ABC):
    """The adapter interface. `record` is pure (tested with status tables); `create` and `poll` do the I/O."""

    name = "base"

    @abstractmethod
    async def create(self, http: Transport, api: Api, model: str, input: dict[str, Any],
                     callback_url: str | None) -> str:
        """Start the task (or ask a synchronous endpoint) and return the id `poll` reads it by."""

    @abstractmethod
    async def poll(self, http: Transport, api: Api, task_id: str) -> TaskRecord:
        """The task as a normalized record."""

    @abstractmethod
    def record(self, api: Api, task_id: str, data: Mapping[str, Any]) -> TaskRecord:
        """The family's record `data` as a normalized record."""


def task_id_of(data: Any) -> str | None:
    """`data.taskId` (or `task_id`) of a create answer."""
    if isinstance(data, Mapping):
        value = data.get("taskId") or data.get("task_id")
        if isinstance(value, (str, int)) and str(value):
            return str(value)
    return None


def flag(value: Any) -> str:
    """A status value as a string: `successFlag` comes as 1 or "1" (or "SUCCESS") depending on the family."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value if value is not None else "").strip()


def urls_in(value: Any) -> list[str]:
    """Every http(s) URL in a string, a list or the values of a mapping, in order (one level deep for lists)."""
    found: list[str] = []
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str) and item.startswith(("http://", "https://")):
            found.append(item)
        elif isinstance(item, list):
            found += [u for u in item if isinstance(u, str) and u.startswith(("http://", "https://"))]
    return found


def opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def fraction_progress(value: Any) -> int | None:
    """4o Image's progress "0.00"–"1.00" (a string) as 0–100."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return max(0, min(100, round(number * 100)))
