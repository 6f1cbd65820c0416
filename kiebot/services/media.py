"""Input files: Telegram file → KIE upload, and what we know of each file (length, size).

A Telegram file URL carries the bot token, so files are always downloaded by the bot and
uploaded to KIE's upload API; KIE only ever sees its own download URL.
"""
from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from kiebot.catalog.pricing import MediaFacts

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files

Download = Callable[[str], Awaitable[bytes]]  # Telegram file_id -> bytes


class Uploader(Protocol):
    async def upload_file(self, data: bytes, file_name: str, mime: str) -> str: ...


@dataclass(frozen=True)
class IncomingFile:
    """A file the user sent, as Telegram describes it."""

    file_id: str
    kind: str  # image | video | audio | document
    file_name: str
    mime: str
    size: int | None = None
    seconds: float | None = None
    width: int | None = None
    height: int | None = None


class FileTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"file of {size} bytes is over the Telegram download limit")
        self.size = size


def now_utc() -> datetime:
    return datetime.now(UTC)


async def ingest(incoming: IncomingFile, field: str, download: Download, uploader: Uploader) -> dict[str, Any]:
    """Download from Telegram, upload to KIE; returns the FileRef dict kept in the draft and the job."""
    if incoming.size is not None and incoming.size > TELEGRAM_DOWNLOAD_LIMIT:
        raise FileTooLarge(incoming.size)
    data = await download(incoming.file_id)
    url = await uploader.upload_file(data, incoming.file_name, incoming.mime)
    return {
        "field": field,
        "url": url,
        "file_id": incoming.file_id,
        "kind": incoming.kind,
        "file_name": incoming.file_name,
        "mime": incoming.mime,
        "uploaded_at": now_utc().isoformat(),
        "seconds": incoming.seconds,
        "width": incoming.width,
        "height": incoming.height,
    }


def media_facts(files: list[dict[str, Any]]) -> dict[str, MediaFacts]:
    """What pricing needs to know per top-level field: the longest file's length and size."""
    facts: dict[str, MediaFacts] = {}
    for ref in files:
        name = ref["field"].split(".")[0]
        old = facts.get(name)
        seconds = ref.get("seconds")
        if old is not None and old.seconds is not None and (seconds is None or old.seconds >= seconds):
            continue
        facts[name] = MediaFacts(seconds=seconds, width=ref.get("width"), height=ref.get("height"))
    return facts


def is_expired(ref: dict[str, Any], ttl_hours: float, now: datetime | None = None) -> bool:
    uploaded = datetime.fromisoformat(ref["uploaded_at"])
    return (now or now_utc()) - uploaded > timedelta(hours=ttl_hours)


async def refresh_expired(
    values: dict[str, Any], files: list[dict[str, Any]], ttl_hours: float, download: Download, uploader: Uploader
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Upload again every file whose KIE link may have expired, and point the values at the new links."""
    renamed: dict[str, str] = {}
    fresh_files = []
    for ref in files:
        if is_expired(ref, ttl_hours):
            data = await download(ref["file_id"])
            new_url = await uploader.upload_file(data, ref["file_name"], ref["mime"])
            renamed[ref["url"]] = new_url
            ref = {**ref, "url": new_url, "uploaded_at": now_utc().isoformat()}
        fresh_files.append(ref)
    return _replace_urls(values, renamed), fresh_files


def _replace_urls(value: Any, renamed: dict[str, str]) -> Any:
    if isinstance(value, str):
        return renamed.get(value, value)
    if isinstance(value, list):
        return [_replace_urls(v, renamed) for v in value]
    if isinstance(value, dict):
        return {k: _replace_urls(v, renamed) for k, v in value.items()}
    return value


def guess_name(kind: str, mime: str | None, file_name: str | None) -> tuple[str, str]:
    """A file name and MIME type for an upload (photos come without either)."""
    if kind == "image" and not mime:
        mime = "image/jpeg"
    mime = mime or "application/octet-stream"
    if not file_name:
        ext = mimetypes.guess_extension(mime) or ".bin"
        file_name = f"{kind}{'.jpg' if ext == '.jpe' else ext}"
    return file_name, mime
