"""What the engine needs from the outside world: KIE (implemented by `kie.client.KieClient`, or a scripted fake in
tests) and Telegram (implemented by the bot's notifier)."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from kiebot.kie.records import TaskRecord
from kiebot.store.models import Job


class RecipientGone(Exception):
    """The user blocked the bot or deleted their account (Telegram 403): nothing can be delivered."""


class Kie(Protocol):
    """KIE's API as the bot uses it. Errors are `kiebot.kie.errors.KieError` subclasses."""

    async def create_task(self, model: str, input: dict[str, Any], callback_url: str | None = None,
                          api: Mapping[str, Any] | None = None) -> str:
        """Start a task; returns KIE's task id. `api`: the model's family and endpoints (`ModelSpec.api`)."""

    async def record_info(self, task_id: str, api: Mapping[str, Any] | None = None) -> TaskRecord:
        """The task's normalized state and, once it succeeded, its result URLs, items or text."""

    async def upload_file(self, data: bytes, file_name: str, mime: str) -> str:
        """Upload an input file; returns the URL KIE downloads it from."""

    async def credits(self) -> Decimal:
        """The account's remaining credits."""


class Notifier(Protocol):
    async def show_status(self, job: Job, *, final: bool = False) -> None:
        """Show the job's state in its status message. `final` edits are never skipped by throttling."""

    async def deliver(self, job: Job, urls: list[str]) -> list[dict[str, Any]]:
        """Send the results (`urls`; `job.result` may add per-output `items` and a `text`); returns what was sent
        (`[{"type", "file_id"}]`). Raises RecipientGone."""

    async def download(self, file_id: str) -> bytes:
        """A Telegram file's bytes (to upload an input file to KIE again)."""

    async def alert_operators(self, alert: str, **params: Any) -> None:
        """Tell the admins something needs them. `alert` is a text id (`alert-…`) with its parameters."""
