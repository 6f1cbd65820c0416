"""The wizard state machine (services.wizard) on real catalogue models, without Telegram."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiebot.catalog import Catalog, FieldKind
from kiebot.services.wizard import LONG_PART, Draft

CATALOG = Catalog.load()
NANO = CATALOG.get("google/nano-banana")
EDIT = CATALOG.get("google/nano-banana-edit")
KLING = CATALOG.get("kling-2.6/image-to-video")
DIALOGUE = CATALOG.get("elevenlabs/text-to-dialogue-v3")


def test_required_fields_come_first_then_optional_ones() -> None:
    draft = Draft.start(EDIT)
    asked = []
    while not draft.at_confirmation:
        spec = draft.spec(EDIT)
        asked.append(spec.name)
        if spec.kind == FieldKind.FILES:
            draft.add_item(EDIT, "https://files.example/a.png")
            draft.finish_collection(EDIT)
        else:
            draft.answer(EDIT, spec.default if spec.has_default else "a prompt")
    assert asked == ["prompt", "image_urls", "output_format", "aspect_ratio"]
    assert draft.values["image_urls"] == ["https://files.example/a.png"]


def test_back_returns_to_the_previous_step_and_keeps_the_values() -> None:
    draft = Draft.start(KLING)
    draft.answer(KLING, "a cat")
    assert draft.current == "image_urls"
    assert draft.back(KLING) and draft.current == "prompt"
    assert draft.values["prompt"] == "a cat"
    assert not draft.back(KLING)  # nothing before the first step: the bot shows the model card


def test_defaults_for_the_rest_go_straight_to_confirmation() -> None:
    draft = Draft.start(NANO)
    draft.answer(NANO, "a fox")
    assert draft.current == "output_format"
    draft.use_defaults_for_rest(NANO)
    assert draft.at_confirmation and draft.values == {"prompt": "a fox"}


def test_an_edit_from_the_confirmation_returns_there() -> None:
    draft = Draft.start(NANO)
    draft.answer(NANO, "a fox")
    draft.use_defaults_for_rest(NANO)
    draft.edit(NANO, "aspect_ratio")
    assert draft.current == "aspect_ratio" and draft.editing
    draft.answer(NANO, "16:9")
    assert draft.at_confirmation and draft.values["aspect_ratio"] == "16:9"
    draft.edit(NANO, "prompt")
    assert draft.back(NANO) and draft.at_confirmation  # Back on an edit goes back to the summary


def test_keep_default_leaves_optional_fields_to_kie_and_fills_required_ones() -> None:
    draft = Draft.start(KLING)
    draft.answer(KLING, "a cat")
    draft.add_item(KLING, "https://files.example/cat.png")  # max_items 1: the field is complete at once
    assert draft.current == "sound"
    draft.answer(KLING, True)
    draft.keep_default(KLING)  # duration is required with a default: it is sent explicitly
    assert draft.at_confirmation and draft.values["duration"] == "5"


def test_a_collection_waits_for_its_minimum() -> None:
    draft = Draft.start(EDIT)
    draft.answer(EDIT, "p")
    assert not draft.can_finish_collection(EDIT)
    for i in range(10):
        finished = draft.add_item(EDIT, f"https://files.example/{i}.png")
    assert finished and len(draft.values["image_urls"]) == 10  # max_items reached: stored without Done


def test_array_of_objects_is_filled_entry_by_entry() -> None:
    draft = Draft.start(DIALOGUE)
    assert draft.current == "dialogue" and draft.sub is None
    for line in ("Hello there", "General Kenobi"):
        draft.start_item(DIALOGUE)
        while draft.sub is not None:
            spec = draft.spec(DIALOGUE)
            draft.answer(DIALOGUE, line if spec.name == "text" else spec.options[0])
    draft.items_done(DIALOGUE)
    assert [entry["text"] for entry in draft.values["dialogue"]] == ["Hello there", "General Kenobi"]
    assert draft.current == "stability"


def test_a_long_text_is_joined_until_a_short_part() -> None:
    draft = Draft.start(NANO)
    assert not draft.append_text_part("a" * LONG_PART)
    assert draft.append_text_part("b" * 10)
    assert draft.partial_text == "a" * LONG_PART + "b" * 10


def test_a_draft_survives_serialisation() -> None:
    draft = Draft.start(KLING)
    draft.answer(KLING, "a cat")
    copy = Draft.from_dict(draft.to_dict())
    assert copy == draft and copy.spec(KLING).name == "image_urls"


def test_a_past_job_opens_at_the_confirmation() -> None:
    draft = Draft.prefilled(NANO, {"prompt": "again", "unknown": 1}, [])
    assert draft.at_confirmation and draft.values == {"prompt": "again"}
    assert draft.back(NANO) and draft.current == "prompt"


ACTIONS = st.lists(st.sampled_from(["answer", "back", "keep", "rest", "edit"]), max_size=30)


@settings(max_examples=200, deadline=None)
@given(model_index=st.integers(0, len(CATALOG.models) - 1), actions=ACTIONS)
def test_any_sequence_of_actions_keeps_the_draft_consistent(model_index: int, actions: list[str]) -> None:
    model = CATALOG.models[model_index]
    draft = Draft.start(model)
    for action in actions:
        spec = draft.spec(model)
        if action == "back":
            draft.back(model)
        elif action == "edit":
            if draft.at_confirmation:
                draft.edit(model, model.fields[0].name)
        elif spec is None or spec.kind in (FieldKind.OBJECTS,):
            continue
        elif action == "keep" and (not spec.required or spec.has_default):
            draft.keep_default(model)
        elif action == "rest" and not spec.required and draft.sub is None and not draft.editing:
            draft.use_defaults_for_rest(model)
        elif action == "answer":
            draft.answer(model, spec.default if spec.has_default else [] if spec.kind == FieldKind.FILES else "x")
        names = {f.name for f in model.fields}
        assert draft.current is None or draft.current in names
        assert set(draft.values) <= names
        assert len(draft.answered) == len(set(draft.answered))
        assert Draft.from_dict(draft.to_dict()) == draft
