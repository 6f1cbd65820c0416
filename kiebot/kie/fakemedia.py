"""Small but real result files for the emulator: PNG/JPEG images with the requested dimensions,
MP4 files whose header carries duration and size, and WAV audio.

Dimensions and durations follow the input where that is easy, so price rules that depend on the
output (megapixels, seconds) can be exercised against the emulator.
"""
from __future__ import annotations

import io
import re
import struct
import wave
from typing import Any

from PIL import Image

# fal-style named sizes used by several image models.
_NAMED_SIZES = {
    "square": (512, 512),
    "square_hd": (1024, 1024),
    "portrait_4_3": (768, 1024),
    "portrait_3_2": (683, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_3_2": (1024, 683),
    "landscape_16_9": (1024, 576),
    "landscape_21_9": (1024, 439),
}
_IMAGE_LONG_SIDE = {"1K": 1024, "2K": 2048, "4K": 4096}
_VIDEO_SHORT_SIDE = {"480P": 480, "540P": 540, "720P": 720, "768P": 768, "1080P": 1080, "4K": 2160}
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")


def make_result(category: str, input: dict[str, Any]) -> tuple[bytes, str, str]:
    """(content, file extension, content type) of a result for a model of `category`."""
    if category == "video":
        return make_mp4(*video_size(input), seconds=_seconds(input, 5)), "mp4", "video/mp4"
    if category == "audio":
        return make_wav(seconds=min(_seconds(input, 1), 10)), "wav", "audio/wav"
    fmt = str(input.get("output_format", "png")).lower()
    if fmt in ("jpeg", "jpg"):
        return make_image(*image_size(input), fmt="JPEG"), "jpg", "image/jpeg"
    return make_image(*image_size(input), fmt="PNG"), "png", "image/png"


def _ratio(input: dict[str, Any]) -> tuple[float, float] | None:
    for key in ("aspect_ratio", "image_size", "size", "aspectRatio"):
        match = _RATIO.match(str(input.get(key, "")))
        if match:
            return float(match.group(1)), float(match.group(2))
    return None


def _fit(long_side: int, ratio: tuple[float, float] | None) -> tuple[int, int]:
    rw, rh = ratio or (1.0, 1.0)
    if rw >= rh:
        return long_side, max(1, round(long_side * rh / rw))
    return max(1, round(long_side * rw / rh)), long_side


def image_size(input: dict[str, Any]) -> tuple[int, int]:
    """1024 px on the long side per "1K" of resolution, shaped by the aspect ratio (1:1 → 1024×1024)."""
    named = _NAMED_SIZES.get(str(input.get("image_size", "")))
    if named:
        return named
    long_side = _IMAGE_LONG_SIDE.get(str(input.get("resolution", "")).upper(), 1024)
    return _fit(long_side, _ratio(input))


def video_size(input: dict[str, Any]) -> tuple[int, int]:
    short = _VIDEO_SHORT_SIDE.get(str(input.get("resolution", "")).upper(), 720)
    rw, rh = _ratio(input) or (16.0, 9.0)
    if rw >= rh:
        return round(short * rw / rh), short
    return short, round(short * rh / rw)


def _seconds(input: dict[str, Any], default: int) -> int:
    match = re.match(r"\s*(\d+)", str(input.get("duration", input.get("n_frames", ""))))
    return int(match.group(1)) if match else default


def make_image(width: int, height: int, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    # "L" keeps big (4K) frames cheap; a flat image compresses to a few KB.
    Image.new("L", (width, height), color=128).save(buf, format=fmt)
    return buf.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def make_mp4(width: int, height: int, seconds: int) -> bytes:
    """ftyp + moov(mvhd, trak(tkhd)): no media data, but duration and size are readable from the header."""
    duration = seconds * 1000  # timescale 1000
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isommp42")
    mvhd = _box(
        b"mvhd",
        struct.pack(">IIIII", 0, 0, 0, 1000, duration)
        + struct.pack(">IH10x", 0x10000, 0x100)
        + _MATRIX
        + bytes(24)
        + struct.pack(">I", 2),
    )
    tkhd = _box(
        b"tkhd",
        struct.pack(">IIII4xI8xhhh2x", 3, 0, 0, 1, duration, 0, 0, 0)
        + _MATRIX
        + struct.pack(">II", width << 16, height << 16),
    )
    return ftyp + _box(b"moov", mvhd + _box(b"trak", tkhd))


def make_wav(seconds: int = 1, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(2 * rate * max(seconds, 1)))
    return buf.getvalue()
