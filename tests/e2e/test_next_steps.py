"""Continuing from a result: the next steps under it and in /history open a form with the result filled in, a step
that takes an earlier task is given one of the user's own generations, and nobody continues from someone else's."""
from __future__ import annotations

import jsonschema
from aiogram.fsm.storage.base import StorageKey

from kiebot.bot.callbacks import NextAction, NextCB, ParentCB
from kiebot.catalog import Catalog
from kiebot.services.wizard import Draft
from kiebot.store.models import Job
from tests.e2e.conftest import Stack, balance_of
from tests.e2e.journey import Journey, grant
from tests.fakes import FakeUser

CATALOG = Catalog.load()
IMAGE_STEPS = ["🎬 Animate", "✏️ Edit", "🔍 Upscale"]


def valid(model_id: str, sent: dict) -> list[str]:
    schema = CATALOG.get(model_id).schema  # type: ignore[union-attr]
    return sorted(e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(sent))


async def make_picture(j: Journey, prompt: str) -> str:
    """A Nano Banana picture made through the bot; returns the URL KIE gave for it."""
    await j.fill("google-nano-banana", prompt, "⏩ Defaults for all the rest")
    done = await j.generate(8)
    assert done.buttons() == IMAGE_STEPS
    return (await record(j.stack, -1))["resultUrls"][0]


async def result_urls(stack: Stack, job_id: int) -> list[str]:
    """The result URLs the bot stored for the job."""
    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None and job.result is not None
        return list(job.result["urls"])


async def record(stack: Stack, index: int) -> dict:
    """The task KIE made `index`-th (Python index), with its result URLs."""
    task = (await stack.kie_tasks())[index]
    urls = [t.result_urls for t in stack.kie.state.tasks.values() if t.task_id == task["taskId"]][0]
    return {**task, "resultUrls": urls}


async def test_animate_a_picture_just_made(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.home()
    await grant(stack, alice, 400)
    picture = await make_picture(j, "A red fox in the snow")
    first_job = j.job
    await j.tap("🎬 Animate")
    models = await j.shown("next-models", step="🎬 Animate", job=first_job)
    assert models.buttons() == [  # six models that take a picture, in catalogue order (none was used yet), then home
        "Grok Imagine Image-to-Video", "Hailuo 2.3 Pro Image-to-Video", "Hailuo 2.3 Standard Image-to-Video",
        "Hailuo 02 Pro Image-to-Video", "Hailuo 02 Standard Image-to-Video", "HappyHorse Image-to-Video",
        j.texts("btn-home")]
    await j.tap("Grok Imagine Image-to-Video")
    j.model = "Grok Imagine Image-to-Video"
    step = await j.step(2)  # the pictures (step 1) are already given
    assert "Prompt" in step.text
    await j.answer_text("The fox jumps")
    confirm = await j.defaults_for_the_rest()
    assert confirm.text.startswith("Grok Imagine Image-to-Video — check the parameters:\n• Images: 1 file\n"
                                   "• Prompt: The fox jumps\n"), confirm.text
    assert "Price: up to 96 💎" in confirm.text  # 30 s at most × 1.6 credits × markup 2
    await j.confirm(96)
    await j.result()

    task = (await stack.kie_tasks())[-1]
    assert task["model"] == "grok-imagine/image-to-video"
    assert task["input"]["image_urls"] == [picture]  # the result itself: nothing was uploaded again
    assert task["input"]["prompt"] == "The fox jumps"
    assert (await stack.kie_control("uploads"))["uploads"] == []
    assert valid("grok-imagine/image-to-video", task["input"]) == []


async def grok_video(j: Journey, prompt: str) -> dict:
    """A Grok Imagine video made from an uploaded photo; returns the task KIE made."""
    await j.open_model("grok-imagine-i2v")
    await j.send_photo()
    await j.step(1, collected=1)
    await j.choose(j.texts("btn-done-count", count=1))  # one picture, then the prompt
    await j.answer_text(prompt)
    await j.defaults_for_the_rest()
    await j.confirm(96)
    await j.result()
    return (await j.stack.kie_tasks())[-1]


async def test_a_grok_upscale_takes_a_video_chosen_from_the_list(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.home()
    await grant(stack, alice, 400)
    await j.open_model("grok-imagine-upscale")
    empty = await j.step(1)
    # Text-to-video needs a callback URL, not set here: image-to-video is the one offered way to make a video.
    assert empty.text.split("\n")[-1] == j.texts("parent-none", models="Grok Imagine Image-to-Video"), empty.text
    assert empty.buttons()[0] == "▶ Grok Imagine Image-to-Video"
    await j.tap(j.texts("btn-cancel"))

    video_task = await grok_video(j, "Waves on a beach")

    await j.open_model("grok-imagine-upscale")
    choose = await j.step(1)
    listed = [b for b in choose.buttons() if b.startswith("Grok Imagine Image-to-Video · ")]
    assert len(listed) == 1 and listed[0].endswith(" · Waves on a beach"), choose.buttons()
    assert j.texts("parent-choose") in choose.text
    await j.tap(listed[0])
    confirm = await j.confirmation()
    assert f"• Source video: generation #{j.job}" in confirm.text, confirm.text
    await j.generate(20)  # 10 credits × markup 2

    upscale = (await stack.kie_tasks())[-1]
    assert upscale["model"] == "grok-imagine/upscale"
    assert upscale["input"] == {"task_id": video_task["taskId"]}
    assert valid("grok-imagine/upscale", upscale["input"]) == []


async def test_history_offers_the_next_steps(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.home()
    await grant(stack, alice, 400)
    picture = await make_picture(j, "A lighthouse at night")
    job = j.job
    shown = await j.history()
    assert shown.buttons() == [f"🔁 Repeat #{job}", f"✏️ Edit #{job}",
                               f"#{job} → 🎬 Animate", f"#{job} → ✏️ Edit", f"#{job} → 🔍 Upscale", j.texts("btn-home")]
    await j.tap(f"#{job} → 🔍 Upscale")
    await j.shown("next-models", step="🔍 Upscale", job=job)
    await j.tap("Topaz Image Upscale")
    j.model = "Topaz Image Upscale"
    await j.step(2)  # the picture (step 1) is already given: the factor
    confirm = await j.choose(j.texts("btn-keep-default"))
    assert "• Image: 1 file" in confirm.text, confirm.text
    await j.confirm()
    await j.result()
    task = (await stack.kie_tasks())[-1]
    assert task["model"] == "topaz/image-upscale" and task["input"]["image_url"] == picture
    assert valid("topaz/image-upscale", task["input"]) == []


async def test_someone_elses_generation_cannot_be_continued(quick: Stack, alice: FakeUser, boris: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.home()
    await grant(stack, alice, 400)
    await grok_video(j, "A forged future")
    alices = j.job
    assert alices is not None
    tasks_before = len(await stack.kie_tasks())

    b = Journey(stack, boris)
    home = await b.home()
    for data in (NextCB(action=NextAction.STEP, job_id=alices, step="upscale"),
                 NextCB(action=NextAction.MODEL, job_id=alices, slug="grok-imagine-upscale")):
        query = await stack.tg.press(boris, home, data.pack())
        await stack.tg.wait_for(lambda: query in stack.tg.callback_answers)  # noqa: B023
        assert stack.tg.callback_answers[query]["text"] == b.texts("stale-button")

    await b.open_model("grok-imagine-upscale")
    await b.step(1)
    assert stack.app is not None
    key = StorageKey(bot_id=stack.app.bot.id, chat_id=boris.id, user_id=boris.id)
    draft = Draft.from_dict((await stack.app.dispatcher.storage.get_data(key))["draft"])
    query = await stack.tg.press(boris, b.screen, ParentCB(token=draft.token, job_id=alices).pack())  # type: ignore[arg-type]
    await stack.tg.wait_for(lambda: query in stack.tg.callback_answers)
    assert stack.tg.callback_answers[query]["text"] == b.texts("stale-button")
    after = Draft.from_dict((await stack.app.dispatcher.storage.get_data(key))["draft"])
    assert after.values == {} and after.token == draft.token
    assert len(await stack.kie_tasks()) == tasks_before
    assert await balance_of(stack, boris) == (100, 0)


async def test_a_veo_1080p_upgrade_of_a_video_just_made(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.home()
    await grant(stack, alice, 100)
    await j.open_model("veo3_1-generate")
    await j.answer_text("A fox runs through the snow")
    await j.defaults_for_the_rest()
    done = await j.generate(120)
    video = j.job
    assert done.buttons() == ["🔍 Upscale", "➕ Extend"]
    parent = (await stack.kie_tasks())[-1]["taskId"]

    await j.tap("🔍 Upscale", on=done)
    models = await j.shown("next-models", step="🔍 Upscale", job=video)
    assert models.buttons() == ["Topaz Video Upscale", "Veo 3.1 — 1080p version", "Veo 3.1 — 4K version",
                                j.texts("btn-home")]
    await j.tap("Veo 3.1 — 1080p version")
    j.model = "Veo 3.1 — 1080p version"
    await j.step(2)  # the video (step 1) is the one just made
    confirm = await j.defaults_for_the_rest()
    assert f": generation #{video}\n" in confirm.text and "Price: 10 💎" in confirm.text, confirm.text  # 5 credits × 2
    await j.generate(10)
    upgrade = [t for t in await stack.kie_tasks() if t["model"] == "veo3.1/get-1080p-video"]
    assert len(upgrade) == 1 and upgrade[0]["input"]["taskId"] == parent
    assert valid("veo3.1/get-1080p-video", upgrade[0]["input"]) == []
    assert len(j.delivered("video")) == 2
    assert await balance_of(stack, alice) == (200 - 120 - 10, 0)


async def test_one_picture_of_an_album_is_chosen_first(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Journey(quick, alice)
    await j.home()
    await grant(stack, alice, 100)
    await j.open_model("gpt4o-image-generate")
    await j.choose("3:2")
    await j.choose("⏭ Skip")  # no images to edit
    await j.answer_text("A lighthouse in the fog")
    await j.choose("2")  # two variants: one album
    done = await j.generate(24)
    album = j.job
    assert album is not None and done.buttons() == IMAGE_STEPS
    second = (await result_urls(stack, album))[1]

    await j.tap("🔍 Upscale", on=done)
    which = await j.shown("next-which", step="🔍 Upscale", job=album)
    assert which.buttons() == ["№ 1", "№ 2", j.texts("btn-home")]
    await j.tap("№ 2")
    await j.shown("next-models", step="🔍 Upscale", job=album)
    await j.tap("Topaz Image Upscale")
    j.model = "Topaz Image Upscale"
    await j.step(2)
    await j.choose(j.texts("btn-keep-default"))
    await j.confirm()
    await j.result()
    task = (await stack.kie_tasks())[-1]
    assert task["model"] == "topaz/image-upscale" and task["input"]["image_url"] == second
