"""Defect: a file swap underpays per-second models.

Re-answering a file field (after Edit or Back) kept the old file's facts, so the price used the old length; and the
length came from what the Telegram client reported (a document has none, and a client can forge it). Lengths now come
from the downloaded bytes, a re-answered field forgets its old files, and an unknown length holds the highest price.
"""
from __future__ import annotations

import io
import wave
from decimal import Decimal

import pytest

from kiebot.catalog import Catalog
from kiebot.services import media
from kiebot.services.generation import price_of
from kiebot.services.media import IncomingFile
from kiebot.services.wizard import Draft

CATALOG = Catalog.load()
TALK = CATALOG.get("infinitalk/from-audio")  # 3 credits per second at 480p, up to 15 s
MARKUP = Decimal("2")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def wav(seconds: int, rate: int = 1000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * (seconds * rate))
    return buffer.getvalue()


class Files:
    """Telegram downloads by file_id, and a KIE uploader that names each upload."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.uploaded: list[str] = []

    async def download(self, file_id: str) -> bytes:
        return self.blobs[file_id]

    async def upload_file(self, data: bytes, file_name: str, mime: str) -> str:
        self.uploaded.append(file_name)
        return f"https://kie.example/{len(self.uploaded)}/{file_name}"


async def _answer_file(draft: Draft, files: Files, incoming: IncomingFile) -> None:
    """What the wizard handler does with a file today: ingest, keep the FileRef, answer the field."""
    ref = await media.ingest(incoming, draft.current or "", files.download, files)
    draft.files.append(ref)
    draft.answer(TALK, ref["url"])


async def test_an_edited_audio_is_priced_by_the_new_file_not_the_old_one() -> None:
    files = Files({"img": PNG, "short": wav(1), "long": wav(600)})
    draft = Draft.start(TALK)
    await _answer_file(draft, files, IncomingFile("img", "image", "i.png", "image/png"))
    await _answer_file(draft, files, IncomingFile("short", "audio", "a.ogg", "audio/ogg", seconds=1.0))
    draft.answer(TALK, "say hi")
    draft.use_defaults_for_rest(TALK)
    assert price_of(TALK, draft, MARKUP).units == 6  # 1 s × 3 credits × 2

    draft.edit(TALK, "audio_url")  # the user swaps the audio for a 600 s WAV sent as a document (no length)
    await _answer_file(draft, files, IncomingFile("long", "audio", "long.wav", "audio/x-wav"))
    assert draft.at_confirmation
    assert [f["file_id"] for f in draft.files] == ["img", "long"]  # the old audio is forgotten
    assert price_of(TALK, draft, MARKUP).units == 90  # the most a run can cost: 15 s × 3 × 2


async def test_the_length_comes_from_the_bytes_not_from_the_client() -> None:
    files = Files({"img": PNG, "ten": wav(10)})
    draft = Draft.start(TALK)
    await _answer_file(draft, files, IncomingFile("img", "image", "i.png", "image/png"))
    # A forged client says 1 s; the file holds 10 s.
    await _answer_file(draft, files, IncomingFile("ten", "audio", "a.wav", "audio/x-wav", seconds=1.0))
    assert draft.files[-1]["seconds"] == pytest.approx(10.0)
    assert draft.files[0]["width"] == 1 and draft.files[0]["height"] == 1  # the image's size too
    draft.answer(TALK, "say hi")
    draft.use_defaults_for_rest(TALK)
    assert price_of(TALK, draft, MARKUP).units == 60


async def test_an_unreadable_length_holds_the_highest_price() -> None:
    files = Files({"img": PNG, "junk": b"not audio at all" * 10})
    draft = Draft.start(TALK)
    await _answer_file(draft, files, IncomingFile("img", "image", "i.png", "image/png"))
    await _answer_file(draft, files, IncomingFile("junk", "audio", "a.ogg", "audio/ogg", seconds=1.0))
    assert draft.files[-1]["seconds"] is None
    draft.answer(TALK, "say hi")
    draft.use_defaults_for_rest(TALK)
    assert price_of(TALK, draft, MARKUP).units == 90


async def test_a_file_over_the_priced_cap_is_refused_before_it_reaches_kie() -> None:
    files = Files({"long": wav(600), "ok": wav(15)})
    with pytest.raises(media.MediaTooLong) as caught:
        await media.take_file(IncomingFile("long", "audio", "long.wav", "audio/x-wav"), "audio_url", TALK,
                              files.download, files)
    assert caught.value.limit == 15 and caught.value.seconds == pytest.approx(600)
    assert files.uploaded == []
    ref = await media.take_file(IncomingFile("ok", "audio", "ok.wav", "audio/x-wav", seconds=99.0), "audio_url",
                                TALK, files.download, files)
    assert ref["seconds"] == pytest.approx(15) and files.uploaded == ["ok.wav"]


def test_one_unknown_length_among_a_fields_files_makes_the_field_unknown() -> None:
    refs = [{"field": "video_urls", "seconds": 4.0}, {"field": "video_urls", "seconds": None},
            {"field": "video_urls", "seconds": 2.0}]
    assert media.media_facts(refs)["video_urls"].seconds is None


async def test_back_and_a_new_file_through_the_new_wiring_forgets_the_old_one() -> None:
    """What the handler will do: media.take_file, then Draft.attach_file."""
    files = Files({"img": PNG, "short": wav(2), "other": wav(12)})
    draft = Draft.start(TALK)

    async def send(file_id: str, name: str) -> None:
        ref = await media.take_file(IncomingFile(file_id, "audio" if file_id != "img" else "image", name, "x/y"),
                                    ".".join(draft.path()), TALK, files.download, files)
        draft.attach_file(TALK, ref)

    await send("img", "i.png")
    await send("short", "s.wav")
    assert draft.current == "prompt"
    assert draft.back(TALK) and draft.current == "audio_url"
    await send("other", "o.wav")
    assert [f["file_id"] for f in draft.files] == ["img", "other"]
    draft.answer(TALK, "hello")
    draft.use_defaults_for_rest(TALK)
    assert price_of(TALK, draft, MARKUP).units == 72  # 12 s × 3 × 2


def test_files_of_a_collection_left_with_back_are_forgotten() -> None:
    edit = CATALOG.get("google/nano-banana-edit")
    draft = Draft.start(edit)
    draft.answer(edit, "a prompt")
    assert draft.current == "image_urls"
    draft.attach_file(edit, {"field": "image_urls", "url": "https://kie.example/a", "seconds": None})
    assert len(draft.files) == 1 and draft.pending == ["https://kie.example/a"]
    draft.back(edit)  # the half-collected field is abandoned
    assert draft.files == []
