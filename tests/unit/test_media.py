"""Input files: what pricing learns from them, and re-uploading links KIE may have dropped."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiebot.services import media
from kiebot.services.media import FileTooLarge, IncomingFile


class Uploads:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str, str]] = []

    async def upload_file(self, data: bytes, file_name: str, mime: str) -> str:
        self.sent.append((data, file_name, mime))
        return f"https://kie.example/new/{len(self.sent)}/{file_name}"


async def download(file_id: str) -> bytes:
    return f"bytes of {file_id}".encode()


def ref(field: str, url: str, hours_ago: float, seconds: float | None = None) -> dict:
    uploaded = datetime.now(UTC) - timedelta(hours=hours_ago)
    return {"field": field, "url": url, "file_id": f"tg-{url[-1]}", "kind": "video", "file_name": "v.mp4",
            "mime": "video/mp4", "uploaded_at": uploaded.isoformat(), "seconds": seconds, "width": None, "height": None}


async def test_ingest_uploads_the_telegram_file_and_remembers_it() -> None:
    uploads = Uploads()
    incoming = IncomingFile("tg-file", "audio", "voice.ogg", "audio/ogg", size=1000, seconds=7.5)
    kept = await media.ingest(incoming, "audio_url", download, uploads)
    assert uploads.sent == [(b"bytes of tg-file", "voice.ogg", "audio/ogg")]
    assert kept["url"] == "https://kie.example/new/1/voice.ogg" and kept["file_id"] == "tg-file"
    # The client's 7.5 s is not taken: these bytes tell no length, so it stays unknown (the highest price is held).
    assert kept["seconds"] is None and kept["field"] == "audio_url"


async def test_a_file_over_the_telegram_download_limit_is_refused_before_downloading() -> None:
    uploads = Uploads()
    big = IncomingFile("tg-big", "video", "v.mp4", "video/mp4", size=media.TELEGRAM_DOWNLOAD_LIMIT + 1)
    with pytest.raises(FileTooLarge):
        await media.ingest(big, "video_url", download, uploads)
    assert uploads.sent == []


async def test_expired_links_are_uploaded_again_and_the_values_follow() -> None:
    uploads = Uploads()
    files = [ref("video_urls", "https://kie.example/old/1", hours_ago=30), ref("image_url", "https://kie.example/ok/2", 1)]
    values = {"video_urls": ["https://kie.example/old/1"], "image_url": "https://kie.example/ok/2", "prompt": "hi"}
    new_values, new_files = await media.refresh_expired(values, files, ttl_hours=20, download=download, uploader=uploads)
    assert len(uploads.sent) == 1 and uploads.sent[0][0] == b"bytes of tg-1"
    assert new_values == {"video_urls": ["https://kie.example/new/1/v.mp4"], "image_url": "https://kie.example/ok/2",
                          "prompt": "hi"}
    assert new_files[0]["url"] == "https://kie.example/new/1/v.mp4" and new_files[1] == files[1]


def test_pricing_sees_the_longest_file_of_each_field() -> None:
    files = [ref("video_urls.0", "u1", 0, seconds=4), ref("video_urls.1", "u2", 0, seconds=9), ref("audio_url", "u3", 0)]
    facts = media.media_facts(files)
    assert facts["video_urls"].seconds == 9 and facts["audio_url"].seconds is None


def test_photos_get_a_name_and_a_type() -> None:
    assert media.guess_name("image", None, None) == ("image.jpg", "image/jpeg")
    assert media.guess_name("video", "video/mp4", None)[0] == "video.mp4"
    assert media.guess_name("audio", "audio/mpeg", "song.mp3") == ("song.mp3", "audio/mpeg")
