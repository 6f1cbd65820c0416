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
from tests.fakes import FakeMessage, FakeUser, FloodLimits

PARALLEL_USERS = 8  # users filling forms at the same time: the bot serves them concurrently
CATALOG = Catalog.load()
# KIEBOT_TEST_MODELS=id1,id2 narrows the run while debugging one model's form.
MODELS = [m for m in CATALOG.models if not os.environ.get("KIEBOT_TEST_MODELS")
          or m.id in os.environ["KIEBOT_TEST_MODELS"].split(",")]


async def read_draft(stack: Stack, user: FakeUser) -> Draft | None:
    assert stack.app is not None
    key = StorageKey(bot_id=stack.app.bot.id, chat_id=user.id, user_id=user.id)
    data = await stack.app.dispatcher.storage.get_data(key)
    return Draft.from_dict(data["draft"]) if data.get("draft") else None


def screen_of(stack: Stack, user: FakeUser, draft: Draft) -> FakeMessage | None:
    """The message showing `draft`: its buttons carry the draft's token (`w:<token>:…`, `cf:<token>:…`)."""
    for message in reversed(stack.tg.messages(user.id)):
        for row in message.button_rows():
            for b in row:
                prefix, _, rest = (b.get("callback_data") or "").partition(":")
                if prefix in ("w", "cf") and rest.split(":")[0] == str(draft.token):
                    return message
    return None


async def until_changed(stack: Stack, user: FakeUser, before: Draft) -> Draft:
    """The bot handled the answer when the draft's token moved (or the form reached the confirmation) and the
    screen of the new draft is out (the draft is stored before its screen is sent)."""
    for _ in range(500):
        draft = await read_draft(stack, user)
        if draft is not None and (draft.token != before.token or draft.at_confirmation) \
                and screen_of(stack, user, draft) is not None:
            return draft
        await asyncio.sleep(0.02)
    last = stack.tg.last_message(user.id)
    calls = [(c.method, c.status, str(c.params.get("text", c.params.get("callback_query_id", "")))[:60], str(c.response)[:120])
             for c in stack.tg.calls() if str(c.params.get("chat_id", "")) == str(user.id) or c.method == "answerCallbackQuery"][-16:]
    raise AssertionError(f"the bot did not move on from {before.path()}; it last said {last.text!r} {last.buttons()}; calls {calls}")


# Answers for the text fields that carry a pattern (colour palette entries).
PATTERN_SAMPLES = {r"^#[0-9A-Fa-f]{6}$": "#3A7BD5", r"^\d{1,3}\.\d{2}%$": "33.33%"}


def sample_text(spec: FieldSpec) -> str:
    if spec.pattern:
        return PATTERN_SAMPLES[spec.pattern]
    text = "A calm lake at sunrise, mist over the water"
    if spec.min_length and len(text) < spec.min_length:
        text = (text + " ") * (spec.min_length // len(text) + 1)
    return text[: spec.max_length] if spec.max_length else text


async def send_media(stack: Stack, user: FakeUser, media: str | None) -> None:
    if media == "video":
        await stack.tg.send_video(user, duration=5)
    elif media == "audio":
        await stack.tg.send_audio(user, duration=5)
    else:
        await stack.tg.send_photo(user, width=1024, height=1024)


async def answer_step(stack: Stack, user: FakeUser, model: ModelSpec, draft: Draft, spec: FieldSpec) -> Draft:
    """One answer, the way a user gives it: a button where the step offers one, else a message.
    Returns the draft the last action must change (steps of two actions wait for the first one)."""
    tg, start = stack.tg, draft
    screen = screen_of(stack, user, draft)
    assert screen is not None, f"no screen shows step {draft.path()}"
    if spec.kind == FieldKind.CHOICE or spec.kind == FieldKind.BOOL:
        buttons = screen.buttons()
        marked = [b for b in buttons if b.startswith("✓ ")]
        await tg.click(user, marked[0] if marked else buttons[0], message=screen)
    elif spec.kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        if spec.presets:
            await tg.click(user, screen.buttons()[0], message=screen)
        else:  # seeds: typed
            await tg.send_text(user, str(spec.minimum) if spec.minimum is not None else "42")
    elif spec.kind == FieldKind.TEXT:
        await tg.send_text(user, sample_text(spec))
    elif spec.kind == FieldKind.TEXTS:
        await tg.send_text(user, "first")
        draft = await until_changed(stack, user, draft)
        await tg.click(user, "✅ Done (1)", message=screen_of(stack, user, draft))
    elif spec.kind in (FieldKind.FILE, FieldKind.FILES):
        await send_media(stack, user, spec.media)
        if spec.kind == FieldKind.FILES and (spec.max_items or 0) != 1:
            draft = await until_changed(stack, user, draft)
            if draft.at_confirmation or draft.spec(model) is not spec:
                return start  # one file filled the field: the change is already there
            await tg.click(user, "✅ Done (1)", message=screen_of(stack, user, draft))
    elif spec.kind == FieldKind.OBJECTS and draft.sub is None:
        entries = len(draft.values.get(spec.name) or [])
        await tg.click(user, "✅ Done" if entries >= max(spec.min_items or 0, 1) else "➕ Add an entry", message=screen)
    else:  # JSON fields are optional in every schema: keep the default
        await tg.click(user, "⏭ Skip" if not spec.has_default else "⏭ Keep the default", message=screen)
    return draft


async def complete_form(stack: Stack, user: FakeUser, model: ModelSpec) -> Draft:
    await stack.tg.send_command(user, "/start", args=f"m_{model.slug}")
    await stack.tg.wait_for_message(user.id, predicate=lambda m: "▶ Start" in m.buttons())
    await stack.tg.click(user, "▶ Start")
    draft = None
    for _ in range(200):
        draft = await read_draft(stack, user) if draft is None else draft
        if draft is None or screen_of(stack, user, draft) is None:
            draft = None
            await asyncio.sleep(0.02)
            continue
        if draft.at_confirmation:
            return draft
        before = await answer_step(stack, user, model, draft, draft.spec(model))
        draft = await until_changed(stack, user, before)
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
        assert len(await stack.kie_tasks()) == len(MODELS)


async def schema_errors(stack: Stack, user: FakeUser, model: ModelSpec) -> str | None:
    """Fill the model's form as `user`, confirm, and check what KIE received against the schema."""
    await stack.tg.send_command(user, "/start")
    await stack.tg.wait_for_message(user.id, "Balance")
    draft = await complete_form(stack, user, model)
    assert draft.values, model.id
    # The draft is stored before its screen goes out: wait for the confirmation screen itself.
    confirm = await stack.tg.wait_for_message(
        user.id, predicate=lambda m: any(b.startswith("✅ Confirm") for b in m.buttons()))
    await stack.tg.click(user, next(b for b in confirm.buttons() if b.startswith("✅ Confirm")), message=confirm)
    task = await wait_for_task(stack, model.id)
    errors = sorted(e.message for e in jsonschema.Draft202012Validator(model.schema).iter_errors(task["input"]))
    return f"{model.id}: {errors}" if errors else None


async def wait_for_task(stack: Stack, model_id: str) -> dict[str, Any]:
    for _ in range(1500):
        tasks = [t for t in await stack.kie_tasks() if t["model"] == model_id]
        if tasks:
            return tasks[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"{model_id}: no task reached KIE")
