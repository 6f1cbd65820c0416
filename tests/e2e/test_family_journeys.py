"""The model-specific families through the bot against the emulator: the form, the price on the confirmation, the
request KIE receives (checked against the endpoint's schema), the family's status words read to the end, and the
delivery that fits the family (Suno's tracks as audio with title, cover and length; 4o Image's variants as one
album; text results as a message; a Veo 1080p upgrade of a video just made)."""
from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select

from kiebot.catalog import Catalog
from kiebot.kie.client import PLACEHOLDER_CALLBACK_URL
from kiebot.store.models import Job
from tests.e2e.conftest import Stack, balance_of, relaxed_flood, running_stack
from tests.e2e.journey import Journey, grant
from tests.fakes import FakeUser

CATALOG = Catalog.load()


async def sent_to_kie(stack: Stack, model_id: str) -> dict[str, Any]:
    """The request body KIE received for the model's latest task, valid against the endpoint's schema."""
    tasks = [t for t in await stack.kie_tasks() if t["model"] == model_id]
    assert tasks, f"no {model_id} task reached KIE"
    body = tasks[-1]["input"]
    model = CATALOG.get(model_id)
    assert model is not None
    jsonschema.validate(body, model.schema, cls=jsonschema.Draft202012Validator)
    return body


async def job_result(stack: Stack, job_id: int) -> tuple[dict[str, Any], str | None]:
    """The job's stored result and KIE task id."""
    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        job = (await session.execute(select(Job).where(Job.id == job_id))).scalar_one()
        return dict(job.result or {}), job.kie_task_id


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def callbacks_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack whose PUBLIC_URL leads to the bot's own web server: the emulator's callbacks reach it."""
    port = free_port()
    async with running_stack(tmp_path, flood=relaxed_flood(), web_port=port,
                             public_url=f"http://127.0.0.1:{port}") as stack:
        yield stack


async def make_song(stack: Stack, user: FakeUser) -> Journey:
    j = Journey(stack, user)
    await j.open_model("suno-generate")
    await j.answer_text("A song about the sea at dawn")
    await j.choose("No")  # Suno picks the style and the title
    await j.choose("No")  # with vocals
    await j.choose("V5")
    confirm = await j.defaults_for_the_rest()
    assert "Price: 24 💎" in confirm.text  # 12 credits per request × markup 2
    await j.generate(24)
    return j


def assert_two_tracks(j: Journey) -> None:
    tracks = j.delivered("audio")
    assert len(tracks) == 2
    for track in tracks:
        audio = track.file.meta if track.file else {}
        assert audio.get("title") == "Song 1" or audio.get("title") == "Song 2"
        assert audio.get("duration") == 2 and audio.get("thumbnail"), audio  # its length and its cover art


async def test_suno_song_with_staged_callbacks(tmp_path: Path, alice: FakeUser) -> None:
    async with callbacks_stack(tmp_path) as stack:
        j = await make_song(stack, alice)
        body = await sent_to_kie(stack, "suno/generate")
        assert body["callBackUrl"].startswith(stack.settings.public_url + "/kie/callback?job=")
        assert body["model"] == "V5" and body["customMode"] is False and body["instrumental"] is False
        assert_two_tracks(j)
        task = [t for t in await stack.kie_tasks() if t["model"] == "suno/generate"][0]
        # Each stage's callback reached the bot's web server and was taken as a hint.
        assert [c["stage"] for c in task["callbacks"]] == ["text", "first", "complete"]
        assert all(c["status"] == 200 for c in task["callbacks"])
        result, _ = await job_result(stack, j.job or 0)
        assert [item["title"] for item in result["items"]] == ["Song 1", "Song 2"]
        assert all(item["id"] and item["cover_url"] and item["seconds"] == 2.0 for item in result["items"])
        assert await balance_of(stack, alice) == (76, 0)


async def test_suno_song_by_polling_with_a_placeholder_callback(quick: Stack, alice: FakeUser) -> None:
    j = await make_song(quick, alice)  # no PUBLIC_URL: Suno still offered, polled to the end
    assert (await sent_to_kie(quick, "suno/generate"))["callBackUrl"] == PLACEHOLDER_CALLBACK_URL
    assert_two_tracks(j)


async def test_suno_lyrics_come_as_a_message(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.open_model("suno-lyrics")
    confirm = await j.answer_text("Sailing home")
    assert "Price: 1 💎" in confirm.text  # 0.4 credits × 2, rounded up
    await j.generate(1)
    texts = [m.text or "" for m in quick.tg.messages(alice.id) if "Lyrics about Sailing home" in (m.text or "")]
    assert len(texts) == 1 and texts[0].startswith("Suno — lyrics · #") and "Lyrics 2" in texts[0]


async def test_4o_image_variants_as_one_album(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.open_model("gpt4o-image-generate")
    await j.choose("3:2")
    await j.choose("⏭ Skip")  # no images to edit
    await j.answer_text("A lighthouse in the fog")
    confirm = await j.choose("2")  # two variants: the last step
    assert "Price: 24 💎" in confirm.text  # 6 credits per image × 2 images × markup 2
    await j.generate(24)
    body = await sent_to_kie(quick, "gpt4o-image/generate")
    assert body["size"] == "3:2" and body["nVariants"] == 2 and body["prompt"] == "A lighthouse in the fog"
    photos = j.delivered("photo")
    assert len(photos) == 2 and photos[0].media_group_id and photos[0].media_group_id == photos[1].media_group_id


async def test_veo_video_then_its_1080p_version(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.home()
    await grant(quick, alice, 100)
    await j.open_model("veo3_1-generate")
    await j.answer_text("A fox runs through the snow")
    confirm = await j.defaults_for_the_rest()
    assert "Price: 120 💎" in confirm.text  # Veo 3.1 Fast, 720p, from text: 60 credits × 2
    await j.generate(120)
    body = await sent_to_kie(quick, "veo3.1/generate")
    assert body["prompt"] == "A fox runs through the snow" and body["callBackUrl"] == PLACEHOLDER_CALLBACK_URL
    assert "generationType" not in body and "imageUrls" not in body  # KIE infers text-to-video
    assert len(j.delivered("video")) == 1
    _, parent = await job_result(quick, j.job or 0)

    upgrade = Journey(quick, alice)
    await upgrade.open_model("veo3_1-get-1080p-video")
    choose = await upgrade.step(1)  # the earlier generation is picked from the user's own, never typed
    await upgrade.choose(next(b for b in choose.buttons() if b.startswith("Veo 3.1 · ")))
    confirm = await upgrade.defaults_for_the_rest()
    assert "Price: 10 💎" in confirm.text  # 5 credits × 2
    await upgrade.generate(10)  # KIE says "still processing" first; the bot asks again until the video is there
    assert (await sent_to_kie(quick, "veo3.1/get-1080p-video")) == {"taskId": parent, "index": 0}
    assert len(upgrade.delivered("video")) == 2
    assert await balance_of(quick, alice) == (200 - 120 - 10, 0)


async def test_a_song_split_into_stems_then_midi_of_one_stem(quick: Stack, alice: FakeUser) -> None:
    song = await make_song(quick, alice)
    tracks, song_task = await job_result(quick, song.job or 0)

    split = Journey(quick, alice)
    await split.open_model("suno-vocal-removal")
    choose = await split.step(1)  # the track is picked from the user's own, never typed
    await split.tap(next(b for b in choose.buttons() if b.endswith(" · 2/2 · Song 2")))
    await split.step(3)  # the pick filled the song and its track
    confirm = await split.defaults_for_the_rest()
    assert "Price: 20 💎" in confirm.text  # vocals and accompaniment: 10 credits × 2
    await split.generate(20)
    assert (await sent_to_kie(quick, "suno/vocal-removal")) == {
        "taskId": song_task, "audioId": tracks["items"][1]["id"], "callBackUrl": PLACEHOLDER_CALLBACK_URL}  # KIE's
    # default type (vocals and accompaniment) is left to KIE
    stems = split.delivered("audio")[2:]  # after the song's two tracks: each part as audio, named for the user
    assert [m.file.meta.get("title") if m.file else None for m in stems] == [
        split.texts("stem-vocals"), split.texts("stem-instrumental")]
    parts, split_task = await job_result(quick, split.job or 0)
    assert [(i["stem"], bool(i["id"])) for i in parts["items"]] == [("vocals", True), ("instrumental", True)]

    midi = Journey(quick, alice)
    await midi.open_model("suno-midi-generate")
    choose = await midi.step(1)  # one entry per part of each separation, by the part's name
    await midi.tap(next(b for b in choose.buttons() if b.endswith(" · 2/2 · " + midi.texts("stem-instrumental"))))
    confirm = await midi.confirmation()  # the pick filled both the separation and the part
    assert "Price: 1 💎" in confirm.text  # 0 credits: the 1 💎 minimum
    await midi.generate(1)
    assert (await sent_to_kie(quick, "suno/midi-generate")) == {
        "taskId": split_task, "audioId": parts["items"][1]["id"], "callBackUrl": PLACEHOLDER_CALLBACK_URL}
    notes = [m.text or "" for m in quick.tg.messages(alice.id) if (m.text or "").endswith("Drums: 1")]
    assert len(notes) == 1 and notes[0].startswith("Suno — MIDI notes · #"), notes


@pytest.mark.parametrize(("slug", "model_id", "price", "kind"), [
    ("runway-generate", "runway/generate", 24, "video"),  # 5 s, 720p, from text: 12 credits × 2
    ("flux-kontext-generate", "flux-kontext/generate", 10, "photo"),  # Pro: 5 credits × 2
])
async def test_runway_and_flux_kontext(quick: Stack, alice: FakeUser, slug: str, model_id: str, price: int,
                                       kind: str) -> None:
    j = Journey(quick, alice)
    await j.open_model(slug)
    await j.answer_text("A paper boat on a river")
    if model_id == "runway/generate":  # the length and the quality are required
        await j.choose("5")
        await j.choose("720p")
    confirm = await j.defaults_for_the_rest()
    assert f"Price: {price} 💎" in confirm.text
    await j.generate(price)
    await sent_to_kie(quick, model_id)
    assert len(j.delivered(kind)) == 1


async def test_a_failed_veo_task_is_released(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.home()
    await grant(quick, alice, 100)
    await j.open_model("veo3_1-generate")
    await j.answer_text("A storm [fail]")  # the emulator fails it: successFlag 3
    await j.defaults_for_the_rest()
    await j.confirm(120)
    await j.failure()
    assert await balance_of(quick, alice) == (200, 0)


async def test_aleph_changes_an_uploaded_video(quick: Stack, alice: FakeUser) -> None:
    j = Journey(quick, alice)
    await j.home()
    await grant(quick, alice, 200)
    await j.open_model("runway-aleph-generate")
    await j.answer_text("Make it snow")
    await quick.tg.send_video(alice, duration=5)
    await j.next_screen()
    confirm = await j.defaults_for_the_rest()
    assert "Price: 220 💎" in confirm.text  # 110 credits × 2
    await j.generate(220)
    body = await sent_to_kie(quick, "runway-aleph/generate")
    assert body["prompt"] == "Make it snow" and body["videoUrl"].startswith(quick.kie.url)  # uploaded to KIE first
    assert len(j.delivered("video")) == 1
