"""Input files: an upload is reused for the same Telegram file (file_unique_id), within each model's length cap."""
from __future__ import annotations

import pytest

from kiebot.cache import Cache, MemoryStore
from kiebot.catalog import Catalog
from kiebot.kie.fakemedia import make_wav
from kiebot.services import answers
from kiebot.services.answers import InputFiles
from kiebot.services.media import IncomingFile
from kiebot.services.wizard import Draft

CATALOG = Catalog.load()


class Uploads:
    def __init__(self) -> None:
        self.count = 0

    async def upload_file(self, data: bytes, file_name: str, mime: str) -> str:
        self.count += 1
        return f"https://kie.example/uploads/{self.count}/{file_name}"


def audio(seconds: int, unique_id: str = "same-file") -> tuple[IncomingFile, bytes]:
    data = make_wav(seconds, rate=1000)
    return IncomingFile(f"id-{unique_id}-{seconds}", "audio", "a.wav", "audio/wav", len(data), None,
                        unique_id=unique_id), data


async def test_the_same_file_is_uploaded_once_and_answers_each_form() -> None:
    uploads = Uploads()
    files = InputFiles(uploads, Cache(MemoryStore(), ttl=3600))
    model = CATALOG.get("elevenlabs/audio-isolation")
    incoming, data = audio(3)

    async def download(file_id: str) -> bytes:
        return data

    first, second = Draft.start(model), Draft.start(model)
    await files.answer_file(first, model, incoming, download)
    await files.answer_file(second, model, incoming, download)
    name = model.fields[0].name
    assert uploads.count == 1
    assert first.values[name] == second.values[name]
    assert second.files[0]["field"] == name and second.files[0]["seconds"] == pytest.approx(3, abs=0.1)


async def test_a_cached_file_over_another_models_cap_is_refused() -> None:
    roomy, capped = CATALOG.get("elevenlabs/audio-isolation"), CATALOG.get("infinitalk/from-audio")
    assert roomy.max_media_seconds == 600 and capped.max_media_seconds == 15
    files = InputFiles(Uploads(), Cache(MemoryStore(), ttl=3600))
    minute, data = audio(60)

    async def download(file_id: str) -> bytes:
        return data

    await files.answer_file(Draft.start(roomy), roomy, minute, download)  # fits, and is cached now
    draft = Draft.start(capped)
    draft.edit(capped, "audio_url")
    with pytest.raises(answers.AnswerError) as refused:
        await files.answer_file(draft, capped, minute, download)
    assert refused.value.code == "err-media-too-long" and refused.value.params == {"seconds": 60, "max": 15}
