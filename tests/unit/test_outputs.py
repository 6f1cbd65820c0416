"""Reading result files for output-dependent prices."""
from __future__ import annotations

import io

from PIL import Image

from kiebot.engine.outputs import UNKNOWN, measure_bytes
from kiebot.kie.fakemedia import make_mp4, make_wav


def test_image_size() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (2048, 1152)).save(buffer, "PNG")
    facts = measure_bytes(buffer.getvalue())
    assert (facts.width, facts.height, facts.seconds) == (2048, 1152, None)


def test_video_length_from_the_movie_header() -> None:
    facts = measure_bytes(make_mp4(1280, 720, 7))
    assert facts.seconds == 7


def test_audio_length() -> None:
    assert measure_bytes(make_wav(seconds=3)).seconds == 3


def test_anything_else_is_unknown() -> None:
    assert measure_bytes(b"not a media file at all") == UNKNOWN
    assert measure_bytes(b"\x00\x00\x00\x10moov\x00\x00\x00\x04") == UNKNOWN
