"""What the engine needs from the outside world (implemented by the bot's Telegram adapter)."""
from __future__ import annotations

from typing import Any, Protocol

from kiebot.store.models import Job


class RecipientGone(Exception):
    """The user blocked the bot or deleted their account (Telegram 403): nothing can be delivered."""


class Notifier(Protocol):
    async def show_status(self, job: Job, *, final: bool = False) -> None:
        """Show the job's state in its status message. `final` edits are never skipped by throttling."""

    async def deliver(self, job: Job, urls: list[str]) -> list[dict[str, Any]]:
        """Send the results; returns what was sent (`[{"type", "file_id"}]`). Raises RecipientGone."""

    async def download(self, file_id: str) -> bytes:
        """A Telegram file's bytes (to upload an input file to KIE again)."""

    async def alert_operators(self, text: str) -> None:
        """Tell the admins something needs them (KIE key invalid, KIE out of credits)."""
