"""Every model of the catalogue: its form is completed through the bot's handlers (buttons, typed answers,
uploads), confirmed, and the `input` KIE receives validates against that model's published schema."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiogram.fsm.storage.base import StorageKey

from kiebot.catalog import Catalog, FieldKind, FieldSpec, ModelSpec
from kiebot.services.wizard import Draft
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.journey import Journey
from tests.fakes import FakeUser, FloodLimits

PARALLEL_USERS = 8  # users filling forms at the same time: the bot serves them concurrently
CATALOG = Catalog.load()
# KIEBOT_TEST_MODELS=id1,id2 narrows the run while debugging one model's form.
MODELS = [m for m in CATALOG.models
          if not os.environ.get("KIEBOT_TEST_MODELS") or m.id in os.environ["KIEBOT_TEST_MODELS"].split(",")]


async def read_draft(stack: Stack, user: FakeUser) -> Draft | None:
    assert stack.app is not None
    key = StorageKey(bot_id=stack.app.bot.id, chat_id=user.id, user_id=user.id)
    data = await stack.app.dispatcher.storage.get_data(key)
    return Draft.from_dict(data["draft"]) if data.get("draft") else None


async def until_changed(j: Journey, before: Draft | None) -> Draft:
    """The draft the bot saved with its latest screen: its token moved (or the form reached the confirmation)."""
    for _ in range(500):
        draft = await read_draft(j.stack, j.user)
        if draft is not None and (before is None or draft.token != before.token or draft.at_confirmation):
            return draft
        await asyncio.sleep(0.02)
    tg, user = j.stack.tg, j.user
    calls = [(c.method, c.status, str(c.params.get("text", c.params.get("callback_query_id", "")))[:60], str(c.response)[:120])
             for c in tg.calls() if str(c.params.get("chat_id", "")) == str(user.id) or c.method == "answerCallbackQuery"][-16:]
    where = before.path() if before else "the start"
    raise AssertionError(f"the bot did not move on from {where}; it last showed {j.screen.text if j.screen else None!r} "
                         f"{j.screen.buttons() if j.screen else []}; calls {calls}")


async def moved_on(j: Journey, before: Draft | None) -> Draft:
    """After the user's action: the screen the bot shows next (a step or the confirmation), and its draft."""
    await j.form_screen()
    return await until_changed(j, before)


# Answers for the text fields that carry a pattern (colour palette entries).
PATTERN_SAMPLES = {r"^#[0-9A-Fa-f]{6}$": "#3A7BD5", r"^\d{1,3}\.\d{2}%$": "33.33%"}


def sample_text(spec: FieldSpec) -> str:
    if spec.pattern:
        return PATTERN_SAMPLES[spec.pattern]
    text = "A calm lake at sunrise, mist over the water"
    if spec.min_length and len(text) < spec.min_length:
        text = (text + " ") * (spec.min_length // len(text) + 1)
    return text[: spec.max_length] if spec.max_length else text


async def send_media(j: Journey, media: str | None) -> None:
    if media == "video":
        await j.tg.send_video(j.user, duration=5)
    elif media == "audio":
        await j.send_audio(duration=5)
    else:
        await j.send_photo(width=1024, height=1024)


async def answer_step(j: Journey, model: ModelSpec, draft: Draft, spec: FieldSpec) -> Draft:
    """One answer, the way a user gives it: a button where the step offers one, else a message.
    Returns the draft once the bot moved on (steps of two actions wait between them)."""
    assert j.screen is not None
    buttons = j.screen.buttons()
    if spec.kind == FieldKind.CHOICE or spec.kind == FieldKind.BOOL:
        marked = [b for b in buttons if b.startswith("✓ ")]
        await j.tap(marked[0] if marked else buttons[0])
    elif spec.kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        if spec.presets:
            await j.tap(buttons[0])
        else:  # seeds: typed
            await j.send_text(str(spec.minimum) if spec.minimum is not None else "42")
    elif spec.kind == FieldKind.TEXT:
        await j.send_text(sample_text(spec))
    elif spec.kind == FieldKind.TEXTS:
        await j.send_text("first")
        draft = await moved_on(j, draft)
        await j.tap("✅ Done (1)")
    elif spec.kind in (FieldKind.FILE, FieldKind.FILES):
        await send_media(j, spec.media)
        for _ in range(2, (spec.min_items or 1) + 1):  # a field that takes at least two files (a mashup)
            draft = await moved_on(j, draft)
            await send_media(j, spec.media)
        if spec.kind == FieldKind.FILES and (spec.max_items or 0) != 1:
            draft = await moved_on(j, draft)
            if draft.at_confirmation or draft.spec(model) is not spec:
                return draft  # the files filled the field
            await j.tap(f"✅ Done ({max(spec.min_items or 1, 1)})")
    elif spec.kind == FieldKind.TASK:  # the user's earlier generation (made by `parents_first`), newest first
        await j.tap(buttons[0])
    elif spec.kind == FieldKind.OBJECTS and draft.sub is None:
        entries = len(draft.values.get(spec.name) or [])
        await j.tap("✅ Done" if entries >= max(spec.min_items or 0, 1) else "➕ Add an entry")
    else:  # JSON fields are optional in every schema: keep the default
        await j.tap("⏭ Skip" if not spec.has_default else "⏭ Keep the default")
    return await moved_on(j, draft)


async def complete_form(j: Journey, model: ModelSpec) -> Draft:
    await j.open_model(model.slug)
    draft = await until_changed(j, None)
    for _ in range(200):
        if draft.at_confirmation:
            return draft
        draft = await answer_step(j, model, draft, draft.spec(model))
    raise AssertionError(f"{model.id}: the form did not end")


@pytest.mark.timeout(600)
async def test_every_model_form_reaches_kie_with_a_valid_input(tmp_path: Path) -> None:
    async with running_stack(
        tmp_path, max_active_per_user=200, kie_create_per_10s=1000, kie_polls_per_second=1000,
        flood=FloodLimits(enabled=False), status_edit_interval=5, welcome_bonus=100_000,
        public_url="http://127.0.0.1:9",  # offers the models that need a callback URL too (nothing listens there)
    ) as stack:
        lanes = asyncio.Semaphore(PARALLEL_USERS)

        async def check(index: int, model: ModelSpec) -> str | None:
            async with lanes:
                return await schema_errors(stack, FakeUser(10_000 + index, "Tester", "en"), model)

        failures = await asyncio.gather(*(check(i, m) for i, m in enumerate(MODELS)))
        assert not [f for f in failures if f], "\n".join(f for f in failures if f)
        parents = sum(len(parents_first(m)) for m in MODELS)
        assert len(await stack.kie_tasks()) == len(MODELS) + parents


async def schema_errors(stack: Stack, user: FakeUser, model: ModelSpec) -> str | None:
    """Fill the model's form as `user`, confirm, and check what KIE received against the schema."""
    j = Journey(stack, user)
    await j.home()
    for parent in parents_first(model):  # a form that continues from an earlier generation: the user makes it first
        await complete_form(j, parent)
        await j.press_confirm()
        await j.result(timeout=120)
    draft = await complete_form(j, model)
    assert draft.values, model.id
    await j.press_confirm()
    task = await wait_for_task(stack, model.id)
    errors = sorted(e.message for e in jsonschema.Draft202012Validator(model.schema).iter_errors(task["input"]))
    return f"{model.id}: {errors}" if errors else None


def parents_first(model: ModelSpec) -> list[ModelSpec]:
    """The generations to make before `model`'s form can be filled, oldest first: for a TASK field, a model whose
    result it accepts (one that needs no earlier task when there is one, else that model's own parents before it)."""
    for spec in model.fields:
        if spec.kind == FieldKind.TASK and spec.parent is not None:
            makers = [m for m in (CATALOG.get(mid) for mid in spec.parent.models) if m is not None]
            maker = next((m for m in makers if all(f.kind != FieldKind.TASK for f in m.fields)), makers[0])
            return [*parents_first(maker), maker]
    return []


async def wait_for_task(stack: Stack, model_id: str) -> dict[str, Any]:
    for _ in range(1500):
        tasks = [t for t in await stack.kie_tasks() if t["model"] == model_id]
        if tasks:
            return tasks[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"{model_id}: no task reached KIE")
