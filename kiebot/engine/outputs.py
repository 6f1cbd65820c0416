"""Reading what a price may depend on from the result files: an image's size (megapixels, 2K/4K/8K) and a
video's or audio's length (per-second prices whose length was unknown before the run)."""
from __future__ import annotations

import io
import logging
import struct
import wave

import aiohttp
from PIL import Image

from kiebot.catalog.pricing import MediaFacts

log = logging.getLogger(__name__)
MAX_BYTES = 64 * 1024 * 1024
UNKNOWN = MediaFacts(seconds=None, width=None, height=None)


async def measure_outputs(urls: list[str]) -> list[MediaFacts]:
    """What each result file tells; an unreadable one counts as unknown (the held price then stays)."""
    facts = []
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for url in urls:
            facts.append(await _measure(http, url))
    return facts


async def _measure(http: aiohttp.ClientSession, url: str) -> MediaFacts:
    try:
        async with http.get(url) as response:
            response.raise_for_status()
            data = await response.content.read(MAX_BYTES)
    except Exception as exc:  # a result we cannot fetch must not block settlement
        log.warning("could not fetch a result to measure it: %s", type(exc).__name__)
        return UNKNOWN
    return measure_bytes(data)


def measure_bytes(data: bytes) -> MediaFacts:
    for reader in (_image, _mp4, _wav):
        try:
            facts = reader(data)
        except Exception:  # not this format, or a broken file: try the next reader
            continue
        if facts is not None:
            return facts
    return UNKNOWN


def _image(data: bytes) -> MediaFacts:
    with Image.open(io.BytesIO(data)) as image:
        return MediaFacts(seconds=None, width=image.width, height=image.height)


def _wav(data: bytes) -> MediaFacts:
    with wave.open(io.BytesIO(data)) as audio:
        return MediaFacts(seconds=audio.getnframes() / audio.getframerate(), width=None, height=None)


def _mp4(data: bytes) -> MediaFacts | None:
    """The movie header (`moov/mvhd`) holds the timescale and the duration."""
    moov = _child(data, b"moov")
    mvhd = _child(moov, b"mvhd") if moov is not None else None
    if mvhd is None:
        return None
    if mvhd[0] == 1:  # version 1: 64-bit times
        timescale, duration = struct.unpack(">IQ", mvhd[20:32])
    else:
        timescale, duration = struct.unpack(">II", mvhd[12:20])
    return MediaFacts(seconds=duration / timescale, width=None, height=None) if timescale else None


def _child(data: bytes, kind: bytes) -> bytes | None:
    """The payload of the first box of `kind` among the boxes in `data` (ISO base media file format)."""
    offset = 0
    while offset + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[offset : offset + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[offset + 8 : offset + 16])[0], 16
        elif size == 0:
            size = len(data) - offset
        if size < header:
            return None
        if name == kind:
            return data[offset + header : offset + size]
        offset += size
    return None
