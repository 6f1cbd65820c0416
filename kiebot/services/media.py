"""Input files: Telegram file → KIE upload, and what we know of each file (length, size).

A Telegram file URL carries the bot token, so files are always downloaded by the bot and
uploaded to KIE's upload API; KIE only ever sees its own download URL.

A file's length and size are read from the downloaded bytes (container headers through `mutagen`, image headers
through Pillow), never from what the Telegram client reports: a client can forge those, and a file sent as a
document comes with none. A length the bytes do not tell stays unknown, and pricing then holds the highest price.
"""
from __future__ import annotations

import asyncio
import io
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import mutagen
from PIL import Image

from kiebot.catalog import ModelSpec
from kiebot.catalog.pricing import MediaFacts
from kiebot.clock import utcnow

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files

Download = Callable[[str], Awaitable[bytes]]  # Telegram file_id -> bytes


class Uploader(Protocol):
    async def upload_file(self, data: bytes, file_name: str, mime: str) -> str: ...


@dataclass(frozen=True)
class IncomingFile:
    """A file the user sent, as Telegram describes it (`seconds` is the client's claim: not trusted for prices)."""

    file_id: str
    kind: str  # image | video | audio | document
    file_name: str
    mime: str
    size: int | None = None
    seconds: float | None = None
    width: int | None = None
    height: int | None = None
    unique_id: str | None = None  # Telegram's file_unique_id: the same for the same file, whoever sends it


class FileTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"file of {size} bytes is over the Telegram download limit")
        self.size = size


class MediaTooLong(Exception):
    """The file is longer than the most the model's price was computed for (`ModelSpec.max_media_seconds`)."""

    def __init__(self, seconds: float, limit: int) -> None:
        super().__init__(f"a {seconds:.1f} s file is over the {limit} s limit")
        self.seconds = seconds
        self.limit = limit



def length_limit(model: ModelSpec, field_path: str) -> int | None:
    """The most seconds a file in `field_path` may last: the cap of the field that drives a per-second price."""
    if model.length_field and field_path.split(".")[0] == model.length_field:
        return model.max_media_seconds
    return None


async def take_file(
    incoming: IncomingFile, field_path: str, model: ModelSpec, download: Download, uploader: Uploader
) -> dict[str, Any]:
    """A file the user sent for `field_path` (`".".join(draft.path())`) of `model`: downloaded, measured, checked
    and uploaded to KIE. Raises FileTooLarge (over Telegram's download limit) or MediaTooLong (the bytes last longer
    than the model's priced cap; nothing is uploaded). Returns the FileRef for `Draft.attach_file`."""
    return await ingest(incoming, field_path, download, uploader, max_seconds=length_limit(model, field_path))


async def ingest(
    incoming: IncomingFile, field: str, download: Download, uploader: Uploader, *, max_seconds: int | None = None
) -> dict[str, Any]:
    """Download from Telegram, measure, upload to KIE; returns the FileRef dict kept in the draft and the job.

    Length, width and height come from the bytes; Telegram's width/height are kept only when the bytes do not tell
    (a video's size does not lower any price). Raises FileTooLarge, or MediaTooLong when `max_seconds` is exceeded.
    """
    if incoming.size is not None and incoming.size > TELEGRAM_DOWNLOAD_LIMIT:
        raise FileTooLarge(incoming.size)
    data = await download(incoming.file_id)
    if len(data) > TELEGRAM_DOWNLOAD_LIMIT:
        raise FileTooLarge(len(data))
    facts = await asyncio.to_thread(measure, data)
    if max_seconds and facts.seconds is not None and facts.seconds > max_seconds:
        raise MediaTooLong(facts.seconds, max_seconds)
    url = await uploader.upload_file(data, incoming.file_name, incoming.mime)
    measured_size = facts.width is not None
    return {
        "field": field,
        "url": url,
        "file_id": incoming.file_id,
        "kind": incoming.kind,
        "file_name": incoming.file_name,
        "mime": incoming.mime,
        "uploaded_at": utcnow().isoformat(),
        "seconds": facts.seconds,
        "width": facts.width if measured_size else incoming.width,
        "height": facts.height if measured_size else incoming.height,
    }


def measure(data: bytes) -> MediaFacts:
    """What the bytes tell: an image's size (Pillow) or an audio/video length (mutagen: MP3, MP4/M4A, Ogg, WAV,
    FLAC, …). Unknown values are None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return MediaFacts(seconds=None, width=image.width, height=image.height)
    except Exception:  # not an image (or a broken one): try audio and video containers
        pass
    try:
        parsed = mutagen.File(io.BytesIO(data))
    except Exception:  # a broken or forged container: the length stays unknown
        return MediaFacts()
    length = getattr(getattr(parsed, "info", None), "length", None)
    if not isinstance(length, int | float) or length <= 0:
        return MediaFacts()
    return MediaFacts(seconds=float(length))


def media_facts(files: list[dict[str, Any]]) -> dict[str, MediaFacts]:
    """What pricing needs to know per top-level field: the longest file's length (unknown when any file's length
    is unknown, so the highest price is held) and the largest file's size."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for ref in files:
        grouped.setdefault(ref["field"].split(".")[0], []).append(ref)
    return {name: _field_facts(refs) for name, refs in grouped.items()}


def _field_facts(refs: list[dict[str, Any]]) -> MediaFacts:
    lengths = [ref.get("seconds") for ref in refs]
    seconds = None if any(s is None for s in lengths) else max(lengths)  # type: ignore[type-var]
    largest = max(refs, key=lambda ref: (ref.get("width") or 0) * (ref.get("height") or 0))
    return MediaFacts(seconds=seconds, width=largest.get("width"), height=largest.get("height"))


def is_expired(ref: dict[str, Any], ttl_hours: float, now: datetime | None = None) -> bool:
    uploaded = datetime.fromisoformat(ref["uploaded_at"])
    return (now or utcnow()) - uploaded > timedelta(hours=ttl_hours)


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
            ref = {**ref, "url": new_url, "uploaded_at": utcnow().isoformat()}
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
