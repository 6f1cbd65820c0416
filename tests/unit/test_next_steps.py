"""The rules of continuing from a result (services.next_steps) on the shipped catalogue, without a database."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kiebot.bot.callbacks import NextAction, NextCB, ParentCB
from kiebot.catalog import Catalog, FieldKind
from kiebot.services import media
from kiebot.services.next_steps import (
    Candidate,
    Result,
    Step,
    continued_draft,
    fits,
    offered_steps,
    parent_values,
    result_of,
    step_models,
    takes_as_parent,
)
from kiebot.store.models import Job, JobState

CATALOG = Catalog.load()
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TTL = 20.0


def result(model_id: str, media_kind: str | None, *, urls: tuple[str, ...] = ("https://kie.example/r/a.png",),
           item_ids: tuple[str | None, ...] | None = None, file_ids: tuple[str | None, ...] | None = None,
           age: timedelta = timedelta(minutes=5)) -> Result:
    n = len(urls)
    return Result(job_id=7, model_id=model_id, task_id="task_abc", media=media_kind, urls=urls,
                  item_ids=item_ids or (None,) * n, titles=(None,) * n, stems=(None,) * n, file_ids=file_ids or ("tg-file",) * n,
                  finished_at=NOW - age, prompt="a fox")


def ids(models: list[Any]) -> set[str]:
    return {m.id for m in models}


def test_an_image_offers_animate_edit_and_upscale() -> None:
    picture = result("google/nano-banana", "image")
    assert offered_steps(CATALOG, picture, TTL, NOW) == (Step.ANIMATE, Step.EDIT, Step.UPSCALE)
    assert {"kling-2.6/image-to-video", "grok-imagine/image-to-video"} <= ids(step_models(CATALOG, Step.ANIMATE, picture, TTL, NOW))
    assert ids(step_models(CATALOG, Step.UPSCALE, picture, TTL, NOW)) == {"recraft/crisp-upscale", "topaz/image-upscale"}
    edits = step_models(CATALOG, Step.EDIT, picture, TTL, NOW)
    assert {m.task for m in edits} == {"image-edit", "image-to-image"} and all(m.category == "image" for m in edits)


def test_a_video_offers_upscale_and_extend_by_file_or_by_task_id() -> None:
    grok = result("grok-imagine/text-to-video", "video", urls=("https://kie.example/r/v.mp4",))
    assert offered_steps(CATALOG, grok, TTL, NOW) == (Step.UPSCALE, Step.EXTEND)
    assert ids(step_models(CATALOG, Step.UPSCALE, grok, TTL, NOW)) == {"grok-imagine/upscale", "topaz/video-upscale"}
    assert ids(step_models(CATALOG, Step.EXTEND, grok, TTL, NOW)) == {"grok-imagine/extend"}
    other = result("kling-2.6/text-to-video", "video", urls=("https://kie.example/r/v.mp4",))
    # Grok's upscale and extend take Grok videos only; Topaz takes any video file.
    assert ids(step_models(CATALOG, Step.UPSCALE, other, TTL, NOW)) == {"topaz/video-upscale"}
    assert offered_steps(CATALOG, other, TTL, NOW) == (Step.UPSCALE,)


def test_no_step_without_a_model_for_it() -> None:
    assert offered_steps(CATALOG, result("suno/lyrics", None), TTL, NOW) == ()  # a text result
    veo = result("veo3.1/generate", "video", urls=("https://kie.example/v.mp4",), file_ids=(None,),
                 age=timedelta(days=2))
    # An old video sent as a link: no file to give Topaz, but Veo's own upgrades and extend take its task id.
    assert offered_steps(CATALOG, veo, TTL, NOW) == (Step.UPSCALE, Step.EXTEND)
    assert "topaz/video-upscale" not in ids(step_models(CATALOG, Step.UPSCALE, veo, TTL, NOW))


def test_an_old_result_sent_only_as_a_link_cannot_fill_a_file() -> None:
    link_only = dict(file_ids=(None,))
    fresh = result("google/nano-banana", "image", **link_only)  # type: ignore[arg-type]
    old = result("google/nano-banana", "image", age=timedelta(hours=TTL + 1), **link_only)  # type: ignore[arg-type]
    topaz = CATALOG.get("topaz/image-upscale")
    assert fits(topaz, fresh, TTL, NOW) and not fits(topaz, old, TTL, NOW)
    assert offered_steps(CATALOG, old, TTL, NOW) == ()
    # With the Telegram copy it stays usable: the worker uploads that copy again at submission.
    assert fits(topaz, result("google/nano-banana", "image", age=timedelta(days=10)), TTL, NOW)


def test_the_form_starts_with_the_result_filled_in() -> None:
    picture = result("google/nano-banana", "image")
    i2v = CATALOG.get("kling-2.6/image-to-video")
    draft = continued_draft(i2v, picture)
    assert draft.values == {"image_urls": ["https://kie.example/r/a.png"]}
    assert draft.current == "prompt" and draft.answered == ["image_urls"]
    assert draft.progress(i2v) == (2, len(i2v.fields))
    ref = draft.files[0]
    assert ref["field"] == "image_urls" and ref["file_id"] == "tg-file" and ref["mime"] == "image/png"
    assert ref["uploaded_at"] == (NOW - timedelta(minutes=5)).isoformat()
    assert not media.is_expired(ref, TTL, NOW) and media.is_expired(ref, TTL, NOW + timedelta(hours=TTL))
    assert draft.back(i2v) and draft.current == "image_urls"  # the filled field can be changed like any answer

    single = continued_draft(CATALOG.get("topaz/image-upscale"), picture)
    assert single.values == {"image_url": "https://kie.example/r/a.png"}


def test_a_task_id_field_takes_the_job_task_id() -> None:
    grok = result("grok-imagine/image-to-video", "video", urls=("https://kie.example/r/v.mp4",))
    upscale = CATALOG.get("grok-imagine/upscale")
    assert upscale.field("task_id").kind == FieldKind.TASK
    draft = continued_draft(upscale, grok)
    assert draft.values == {"task_id": "task_abc"} and draft.parents == {"task_id": 7} and draft.at_confirmation
    extend = continued_draft(CATALOG.get("grok-imagine/extend"), grok)
    assert extend.values == {"task_id": "task_abc"} and extend.current == "prompt"


def test_a_song_offers_extend_and_cover() -> None:
    two = result("suno/generate", "audio", urls=("https://kie.example/1.mp3", "https://kie.example/2.mp3"),
                 item_ids=("track-1", "track-2"))
    assert offered_steps(CATALOG, two, TTL, NOW) == (Step.EXTEND, Step.COVER)
    # Suno's own extend takes one of its tracks by id; the upload variants take any audio file.
    assert ids(step_models(CATALOG, Step.EXTEND, two, TTL, NOW)) == {"suno/extend", "suno/upload-extend"}
    assert ids(step_models(CATALOG, Step.COVER, two, TTL, NOW)) == {"suno/upload-cover"}
    speech = result("elevenlabs/text-to-speech-turbo-2-5", "audio", urls=("https://kie.example/a.mp3",))
    assert ids(step_models(CATALOG, Step.EXTEND, speech, TTL, NOW)) == {"suno/upload-extend"}


def test_an_output_id_is_one_item_the_user_picks() -> None:
    two = result("suno/generate", "audio", urls=("https://kie.example/1.mp3", "https://kie.example/2.mp3"),
                 item_ids=("track-1", "track-2"))
    extend = CATALOG.get("suno/extend")
    assert parent_values(extend, two, 1) == {"audioId": "track-2"}
    assert parent_values(extend, two, None) == {}
    assert continued_draft(extend, two, 1).values == {"audioId": "track-2"}  # the track chosen under the result
    draft = continued_draft(extend, two, 0)
    assert draft.back(extend) and draft.current == "audioId"  # asked again: picked from the user's tracks
    assert draft.choose_parent(extend, 9, {"audioId": "track-9"})
    assert draft.values == {"audioId": "track-9"} and draft.parents == {"audioId": 9}
    assert draft.current == "defaultParamFlag"  # the first field, asked after the prefilled one
    one = result("suno/generate", "audio", urls=("https://kie.example/1.mp3",), item_ids=("track-1",))
    assert continued_draft(extend, one).values == {"audioId": "track-1"}
    no_ids = result("suno/generate", "audio", urls=("https://kie.example/1.mp3",))
    assert not fits(extend, no_ids, TTL, NOW)  # an output id needs the items' ids
    assert not fits(extend, result("veo3.1/generate", "audio", item_ids=("x",)), TTL, NOW)  # not a Suno job


def test_midi_takes_a_stem_of_a_vocal_removal() -> None:
    separated = result_of(job(model_id="suno/vocal-removal", kie_task_id="sep_1", result={
        "urls": ["https://kie.example/v.mp3", "https://kie.example/i.mp3"], "media": "audio", "items": [
            {"url": "https://kie.example/v.mp3", "id": "stem-v", "title": "Vocals", "stem": "vocals"},
            {"url": "https://kie.example/i.mp3", "id": "stem-i", "title": "Instrumental", "stem": "instrumental"}]}),
        CATALOG)
    assert separated is not None and separated.stems == ("vocals", "instrumental")
    midi = CATALOG.get("suno/midi-generate")
    assert takes_as_parent(midi, separated)
    assert parent_values(midi, separated, 1) == {"taskId": "sep_1", "audioId": "stem-i"}
    old = result("suno/vocal-removal", "audio", urls=("https://kie.example/v.mp3",))
    assert not takes_as_parent(midi, old)  # a separation stored without its stems' ids cannot be picked


def test_a_stem_is_named_in_the_users_language() -> None:
    from kiebot.bot.i18n import Translator
    from kiebot.bot.screens.next_steps import candidate_label, item_title

    translator = Translator()
    stem = Candidate(3, 1, "suno/vocal-removal", CATALOG.get("suno/vocal-removal"), NOW, "Instrumental", 2,
                     "instrumental")
    assert candidate_label(translator.bind("ru"), "ru", stem).endswith("2/2 · Аккомпанемент")
    assert candidate_label(translator.bind("en"), "en", stem).endswith("2/2 · Accompaniment")
    assert item_title(translator.bind("en"), "Dawn", None) == "Dawn"  # a song keeps its own title


def test_choose_parent_refuses_a_step_that_is_not_a_task() -> None:
    extend = CATALOG.get("grok-imagine/extend")
    draft = continued_draft(extend, result("grok-imagine/text-to-video", "video"))
    assert draft.current == "prompt"
    before = draft.to_dict()
    assert not draft.choose_parent(extend, 8, {"task_id": "task_other"})
    assert draft.to_dict() == before


def job(**fields: Any) -> Job:
    values: dict[str, Any] = dict(id=3, user_id=1, model_id="google/nano-banana", state=JobState.DONE.value,
                                  kie_task_id="task_1", values={"prompt": "  a   red fox "},
                                  result={"urls": ["https://kie.example/r/1.png"]},
                                  delivered=[{"type": "photo", "file_id": "F1", "message_id": 5}],
                                  created_at=NOW - timedelta(minutes=2), finished_at=NOW - timedelta(minutes=1))
    values.update(fields)
    return Job(**values)


def test_result_of_a_job() -> None:
    found = result_of(job(), CATALOG)
    assert found is not None
    assert (found.media, found.urls, found.file_ids, found.prompt) == ("image", ("https://kie.example/r/1.png",),
                                                                        ("F1",), "a red fox")
    assert result_of(job(state=JobState.FAILED.value), CATALOG) is None
    assert result_of(job(kie_task_id=None), CATALOG) is None
    assert result_of(job(result={"urls": []}), CATALOG) is None
    link = result_of(job(delivered=[{"type": "link", "url": "u", "message_id": 5}]), CATALOG)
    assert link is not None and link.file_ids == (None,) and link.media == "image"  # the model's category
    tracks = result_of(job(result={"urls": ["a", "b"], "media": "audio", "items": [{"id": "t1", "title": "One"},
                                                                                  {"id": "t2"}]}), CATALOG)
    assert tracks is not None and tracks.item_ids == ("t1", "t2") and tracks.titles == ("One", None)
    assert tracks.media == "audio" and tracks.file_ids == ("F1", None)


@pytest.mark.parametrize("model_id", [m.id for m in CATALOG.models if any(f.kind == FieldKind.TASK for f in m.fields)])
def test_every_task_field_names_its_parents(model_id: str) -> None:
    for spec in CATALOG.get(model_id).fields:
        if spec.kind == FieldKind.TASK:
            assert spec.parent is not None and spec.parent.value in ("task_id", "output_id")
            assert all(CATALOG.known(parent) for parent in spec.parent.models), spec.parent.models


def test_next_step_buttons_fit_telegram_callback_data() -> None:
    big = 2**31 - 1  # job ids far beyond any deployment's
    for model in CATALOG.models:
        data = NextCB(action=NextAction.MODEL, job_id=big, slug=model.slug, item=9).pack()
        assert len(data.encode()) <= 64, data
    for step in Step:
        assert len(NextCB(action=NextAction.STEP, job_id=big, step=step.value, item=9).pack().encode()) <= 64
    assert len(ParentCB(token=10**6, job_id=big, item=9).pack().encode()) <= 64
