"""The family adapters: each family's status words map to the normalized state (tables), results to urls, items
and texts; and every family goes create → poll → success through the real client against the emulator."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kiebot.catalog import Catalog
from kiebot.kie import KieClient
from kiebot.kie.emulator import EmulatorTimings, RunningEmulator, start_emulator
from kiebot.kie.families import FAMILIES, Api, family_for
from kiebot.kie.families.suno import timed_lyrics

CATALOG = Catalog.load()


def api_of(model_id: str) -> Api:
    model = CATALOG.get(model_id)
    assert model is not None
    return Api.of(model.api)


def state_of(model_id: str, data: dict[str, Any]) -> tuple[str, int | None]:
    family, api = family_for(api_of(model_id))
    record = family.record(api, "t1", data)
    return record.state, record.progress


# --- status tables -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("flag", "state"), [(0, "generating"), (1, "success"), (2, "fail"), (3, "fail"),
                                             ("0", "generating"), ("1", "success"), ("3", "fail"), (7, "generating")])
def test_veo_success_flag_as_int_or_string(flag: Any, state: str) -> None:
    assert state_of("veo3.1/generate", {"successFlag": flag, "response": {"resultUrls": ["https://r/v.mp4"]}})[0] == state


@pytest.mark.parametrize(("status", "state", "progress"), [
    ("PENDING", "generating", 10), ("TEXT_SUCCESS", "generating", 40), ("FIRST_SUCCESS", "generating", 70),
    ("SUCCESS", "success", 100), ("CALLBACK_EXCEPTION", "success", 100), ("CREATE_TASK_FAILED", "fail", None),
    ("GENERATE_AUDIO_FAILED", "fail", None), ("SENSITIVE_WORD_ERROR", "fail", None), ("SOMETHING_NEW", "generating", None),
])
def test_suno_song_status(status: str, state: str, progress: int | None) -> None:
    assert state_of("suno/generate", {"status": status}) == (state, progress)


@pytest.mark.parametrize(("state", "normalized"), [("wait", "waiting"), ("queueing", "queuing"),
                                                   ("generating", "generating"), ("success", "success"),
                                                   ("fail", "fail")])
def test_runway_state(state: str, normalized: str) -> None:
    data = {"state": state, "videoInfo": {"videoUrl": "https://r/v.mp4"}, "failMsg": "bad"}
    assert state_of("runway/generate", data)[0] == normalized


@pytest.mark.parametrize(("data", "state", "progress"), [
    ({"successFlag": 0, "progress": "0.35"}, "generating", 35), ({"successFlag": 0, "progress": "1.00"}, "generating", 100),
    ({"successFlag": 1, "response": {"resultUrls": ["https://r/a.png"]}}, "success", 100),
    ({"successFlag": 2, "errorMessage": "bad"}, "fail", None), ({"status": "GENERATING"}, "generating", None),
    ({"status": "GENERATE_FAILED"}, "fail", None),
])
def test_4o_image_flag_status_and_progress_string(data: dict[str, Any], state: str, progress: int | None) -> None:
    assert state_of("gpt4o-image/generate", data) == (state, progress)


@pytest.mark.parametrize(("model_id", "flag", "state"), [
    ("flux-kontext/generate", 0, "generating"), ("flux-kontext/generate", 2, "fail"), ("flux-kontext/generate", 3, "fail"),
    ("suno/cover-generate", 0, "generating"), ("suno/cover-generate", 2, "generating"), ("suno/cover-generate", 3, "fail"),
    ("suno/midi-generate", 0, "generating"), ("suno/midi-generate", 2, "fail"), ("suno/midi-generate", 3, "fail"),
    ("suno/wav-generate", "PENDING", "generating"), ("suno/wav-generate", "GENERATE_WAV_FAILED", "fail"),
    ("suno/vocal-removal", "GENERATE_AUDIO_FAILED", "fail"), ("suno/vocal-removal", "CREATE_TASK_FAILED", "fail"),
])
def test_success_flag_tables(model_id: str, flag: Any, state: str) -> None:
    assert state_of(model_id, {"successFlag": flag})[0] == state


def test_aleph_zero_is_running_unless_an_error_is_given() -> None:
    assert state_of("runway-aleph/generate", {"successFlag": 0, "errorCode": 0, "errorMessage": ""})[0] == "generating"
    assert state_of("runway-aleph/generate", {"successFlag": 0, "errorCode": 400, "errorMessage": "policy"})[0] == "fail"


def test_results_urls_items_and_texts() -> None:
    family, api = family_for(api_of("suno/generate"))
    record = family.record(api, "t1", {"status": "SUCCESS", "response": {"sunoData": [
        {"id": "a1", "audioUrl": "https://r/1.mp3", "imageUrl": "https://r/1.jpg", "title": "Dawn", "duration": 61.5,
         "prompt": "la la"},
        {"id": "a2", "audioUrl": "https://r/2.mp3", "imageUrl": "https://r/2.jpg", "title": "Dawn", "duration": 58},
    ]}})
    assert record.result_urls == ["https://r/1.mp3", "https://r/2.mp3"]
    assert record.items[0] == {"url": "https://r/1.mp3", "id": "a1", "title": "Dawn", "seconds": 61.5,
                               "cover_url": "https://r/1.jpg", "lyrics": "la la"}
    family, api = family_for(api_of("suno/lyrics"))
    text = family.record(api, "t2", {"status": "SUCCESS", "response": {"data": [{"title": "One", "text": "Verse"}]}}).text
    assert text == "One\nVerse"
    family, api = family_for(api_of("suno/vocal-removal"))
    urls = family.record(api, "t3", {"successFlag": "SUCCESS", "response": {
        "originUrl": "https://r/o.mp3", "vocalUrl": "https://r/v.mp3", "instrumentalUrl": "https://r/i.mp3"}}).result_urls
    assert urls == ["https://r/v.mp3", "https://r/i.mp3"]  # not the original


def test_vocal_removal_stems_are_items_with_the_ids_midi_takes() -> None:
    # The record of docs.kie.ai's "Get Vocal Separation Details" example: each stem in originData with its id.
    family, api = family_for(api_of("suno/vocal-removal"))
    record = family.record(api, "t4", {"successFlag": "SUCCESS", "musicId": "376c", "response": {
        "id": None, "originUrl": None, "originData": [
            {"duration": 245.6, "audio_url": "https://r/v.mp3", "stem_type_group_name": "Vocals", "id": "3d70"},
            {"duration": 245.6, "audio_url": "https://r/i.mp3", "stem_type_group_name": "Instrumental", "id": "d92a"},
            {"duration": 245.6, "audio_url": "https://r/x.mp3", "stem_type_group_name": "Theremin", "id": "e1"}],
        "vocalUrl": "https://r/v.mp3", "instrumentalUrl": "https://r/i.mp3", "drumsUrl": None}})
    assert record.result_urls == ["https://r/v.mp3", "https://r/i.mp3", "https://r/x.mp3"]
    assert record.items[0] == {"url": "https://r/v.mp3", "id": "3d70", "title": "Vocals", "seconds": 245.6,
                               "cover_url": None, "lyrics": None, "stem": "vocals"}
    assert [(i["id"], i["stem"], i["title"]) for i in record.items[1:]] == [
        ("d92a", "instrumental", "Instrumental"), ("e1", None, "Theremin")]  # a part the bot has no name for
    origin = family.record(api, "t5", {"successFlag": "SUCCESS", "response": {"originUrl": "https://r/o.mp3", "originData": [
        {"audio_url": "https://r/o.mp3", "stem_type_group_name": "Origin", "id": "o"},
        {"audio_url": "https://r/b.mp3", "stem_type_group_name": "Backing Vocals", "id": "b"}]}})
    assert [(i["id"], i["stem"]) for i in origin.items] == [("b", "backing-vocals")]  # never the original


def test_every_stem_has_a_name_in_both_languages() -> None:
    from kiebot.bot.i18n import Translator
    from kiebot.kie.families.suno import STEMS

    translator = Translator()
    for lang in ("ru", "en"):
        assert {f"stem-{name}" for name in STEMS.values()} <= translator.keys(lang), lang


def test_timed_lyrics_lines() -> None:
    words = [{"word": "[Verse]\n", "startS": 0.5}, {"word": "Morning ", "startS": 61.2}, {"word": "light\n", "startS": 62},
             {"word": "Over ", "startS": 64.25}, {"word": "the lake", "startS": 65}]
    assert timed_lyrics(words) == "0:00.5 [Verse]\n1:01.2 Morning light\n1:04.2 Over the lake"


def test_every_offered_model_has_an_adapter() -> None:
    for model in CATALOG.models:
        family, _ = family_for(model.api)
        assert family is FAMILIES[model.api.get("family") or "market"], model.id


# --- through the client against the emulator ------------------------------------------------------------
KEY = "k-families"


@pytest.fixture
async def kie() -> AsyncIterator[tuple[KieClient, RunningEmulator]]:
    emu = await start_emulator(api_key=KEY, timings=EmulatorTimings(null_record_s=0.05, queue_s=0.05, generate_s=0.3))
    client = KieClient(emu.url, emu.url, KEY, backoff_base=0.01)
    try:
        yield client, emu
    finally:
        await client.close()
        await emu.close()


INPUTS: dict[str, dict[str, Any]] = {
    "veo3.1/generate": {"prompt": "a fox", "model": "veo3_fast"},
    "veo3.1/get-1080p-video": {"taskId": "veo-parent", "index": 0},
    "suno/generate": {"prompt": "a song", "customMode": False, "instrumental": False, "model": "V5"},
    "suno/lyrics": {"prompt": "the sea"},
    "suno/get-timestamped-lyrics": {"taskId": "t", "audioId": "a"},
    "suno/style-boost": {"content": "Pop, Mysterious"},
    "suno/cover-generate": {"taskId": "t"},
    "suno/midi-generate": {"taskId": "t"},
    "gpt4o-image/generate": {"size": "1:1", "prompt": "a cat", "nVariants": 2},
    "flux-kontext/generate": {"prompt": "a cat"},
    "runway/generate": {"prompt": "a fox", "duration": 5, "quality": "720p", "aspectRatio": "16:9"},
    "runway-aleph/generate": {"prompt": "snow", "videoUrl": "https://example.com/v.mp4"},
    "veo3.1/extend": {"taskId": "veo-parent", "prompt": "then it jumps"},
    "veo3.1/get-4k-video": {"taskId": "veo-parent"},
    "suno/extend": {"defaultParamFlag": False, "audioId": "a", "model": "V5"},
    "suno/upload-cover": {"uploadUrl": "https://example.com/a.mp3", "customMode": False, "instrumental": True,
                          "model": "V5"},
    "suno/upload-extend": {"uploadUrl": "https://example.com/a.mp3", "defaultParamFlag": False, "model": "V5"},
    "suno/add-instrumental": {"uploadUrl": "https://example.com/a.mp3", "title": "T", "negativeTags": "", "tags": "pop"},
    "suno/add-vocals": {"prompt": "p", "title": "T", "negativeTags": "", "style": "pop",
                        "uploadUrl": "https://example.com/a.mp3"},
    "suno/mashup": {"uploadUrlList": ["https://example.com/a.mp3", "https://example.com/b.mp3"], "style": "pop",
                    "title": "T", "customMode": True, "model": "V5"},
    "suno/replace-section": {"taskId": "t", "audioId": "a", "prompt": "p", "tags": "pop", "title": "T",
                             "infillStartS": 10, "infillEndS": 20, "fullLyrics": "la"},
    "suno/generate-persona": {"taskId": "t", "audioId": "a", "name": "Nova", "description": "soft pop voice"},
    "suno/wav-generate": {"taskId": "t", "audioId": "a"},
    "suno/vocal-removal": {"taskId": "t", "audioId": "a", "type": "separate_vocal"},
}


def test_every_offered_model_specific_endpoint_has_a_round_trip() -> None:
    assert set(INPUTS) == {m.id for m in CATALOG.models if m.api}


@pytest.mark.parametrize("model_id", sorted(INPUTS))
async def test_family_round_trip_through_the_emulator(kie: tuple[KieClient, RunningEmulator], model_id: str) -> None:
    client, emu = kie
    api = CATALOG.get(model_id).api  # type: ignore[union-attr]
    task_id = await client.create_task(model_id, INPUTS[model_id], None, api=api)
    for _ in range(200):
        record = await client.record_info(task_id, api=api)
        if record.finished:
            break
        await asyncio.sleep(0.02)
    assert record.succeeded, (model_id, record)
    assert record.result_urls or record.text
    if model_id == "gpt4o-image/generate":
        assert len(record.result_urls) == 2  # the variants
    if model_id == "suno/vocal-removal":  # the same shape as KIE's: the stems with their ids
        assert [(i["stem"], bool(i["id"])) for i in record.items] == [("vocals", True), ("instrumental", True)]
        assert record.result_urls == [i["url"] for i in record.items]
    if model_id == "suno/generate":
        assert len(record.items) == 2 and all(i["id"] and i["cover_url"] and i["seconds"] for i in record.items)
        sent = [t for t in emu.state.tasks.values() if t.model.id == model_id][0].body
        assert sent["callBackUrl"] == client.placeholder_callback_url  # no PUBLIC_URL: a placeholder, then polling


# --- callbacks: every family's body names its task for the bot's web server ------------------------------
@pytest.mark.parametrize("model_id", sorted(m.id for m in CATALOG.models if m.api.get("poll")))
@pytest.mark.parametrize("stage", ["text", "success", "fail"])
def test_each_family_callback_names_its_task(model_id: str, stage: str) -> None:
    from kiebot.kie import emulator_families
    from kiebot.kie.emulator import EmuTask
    from kiebot.kie.emulator_models import load_models
    from kiebot.web import _task_id

    model = load_models()[model_id]
    task = EmuTask("task-42", model, {"prompt": "x"}, "http://kie", 0)
    task.outputs = emulator_families.make_outputs(task, lambda name, content, mime: f"http://kie/files/{name}")
    task.state, task.stage = ("generating", "text") if stage == "text" else (stage, "complete")
    assert _task_id(emulator_families.callback(task)) == "task-42"


async def test_sync_answers_after_a_restart(kie: tuple[KieClient, RunningEmulator]) -> None:
    """Timestamped lyrics are asked again when the answer is not in memory; a lost style answer fails the job."""
    from kiebot.kie.families import suno

    client, _ = kie
    lyrics, style = CATALOG.get("suno/get-timestamped-lyrics"), CATALOG.get("suno/style-boost")
    assert lyrics is not None and style is not None
    lyrics_id = await client.create_task(lyrics.id, {"taskId": "t1", "audioId": "a1"}, api=lyrics.api)
    style_id = await client.create_task(style.id, {"content": "pop"}, api=style.api)
    assert lyrics_id == "suno-sync:lyrics:t1:a1"
    FAMILIES["suno"]._answers.clear()  # type: ignore[attr-defined]  # as after a restart
    again = await client.record_info(lyrics_id, api=lyrics.api)
    assert again.succeeded and again.text and again.text.startswith("0:00.5 [Verse]")
    lost = await client.record_info(style_id, api=style.api)
    assert lost.failed and lost.fail_code == "lost" and style_id.startswith(suno.SYNC_PREFIX)


@pytest.mark.parametrize("model_id", ["veo3.1/generate", "suno/generate", "runway/generate", "gpt4o-image/generate"])
async def test_a_family_record_keeps_the_callback_url_it_was_created_with(
        kie: tuple[KieClient, RunningEmulator], model_id: str) -> None:
    """What the callback inbox checks before attaching a task whose create answer was lost."""
    client, _ = kie
    api = CATALOG.get(model_id).api  # type: ignore[union-attr]
    task_id = await client.create_task(model_id, INPUTS[model_id], "http://bot.example/kie/callback?job=7", api=api)
    record = await client.record_info(task_id, api=api)
    assert record.param is not None and record.param["callBackUrl"] == "http://bot.example/kie/callback?job=7"
