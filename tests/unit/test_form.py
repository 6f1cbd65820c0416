"""Typed answers and the input sent to KIE."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiebot.catalog import Catalog, FieldKind
from kiebot.catalog.form import AnswerError, build_input, parse_answer, validate_input


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def field(catalog: Catalog, model_id: str, name: str):
    return catalog.get(model_id).field(name)


def error_of(spec, text: str) -> AnswerError:
    with pytest.raises(AnswerError) as caught:
        parse_answer(spec, text)
    return caught.value


def test_numbers(catalog: Catalog) -> None:
    strength = field(catalog, "ideogram/character-remix", "strength")  # number 0.1..1
    assert parse_answer(strength, "0,5") == 0.5
    assert parse_answer(strength, " 1 ") == 1 and isinstance(parse_answer(strength, "1"), int)
    assert error_of(strength, "abc").code == "err-not-a-number"
    assert error_of(strength, "nan").code == "err-not-a-number"
    too_big = error_of(strength, "1.5")
    assert too_big.code == "err-number-range" and too_big.params == {"min": "0.1", "max": "1"}
    duration = field(catalog, "bytedance/seedance-2", "duration")  # integer 4..15
    assert parse_answer(duration, "10") == 10
    assert parse_answer(duration, "10.0") == 10
    assert error_of(duration, "7,5").code == "err-integer"
    assert error_of(duration, "3").params == {"min": "4", "max": "15"}
    happy = field(catalog, "happyhorse-1-1/text-to-video", "duration")  # number, multipleOf 1
    assert error_of(happy, "5.5").code == "err-multiple-of"
    extend_at = field(catalog, "grok-imagine/extend", "extend_at")  # only a minimum
    assert error_of(extend_at, "1").code == "err-number-min"


def test_texts(catalog: Catalog) -> None:
    prompt = field(catalog, "flux-2/pro-text-to-image", "prompt")  # 3..5000
    assert parse_answer(prompt, "  a red fox  ") == "a red fox"
    short = error_of(prompt, "ab")
    assert short.code == "err-text-too-short" and short.params == {"min": 3, "length": 2}
    long = error_of(prompt, "x" * 5001)
    assert long.code == "err-text-too-long" and long.params == {"max": 5000, "length": 5001}
    assert error_of(prompt, "   ").code == "err-empty"
    hex_field = next(f for f in field(catalog, "wan/2-7-image", "color_palette").item_fields if f.name == "hex")
    assert parse_answer(hex_field, "#a1B2c3") == "#a1B2c3"
    assert error_of(hex_field, "red").code == "err-pattern"
    ids = field(catalog, "gemini-omni-video", "audio_ids")
    assert ids.kind is FieldKind.TEXTS and parse_answer(ids, "voice_1") == "voice_1"


def test_choices_keep_the_schema_type(catalog: Catalog) -> None:
    duration = field(catalog, "kling-2.6/text-to-video", "duration")
    assert parse_answer(duration, "10") == "10"  # a string enum stays a string
    stability = field(catalog, "elevenlabs/text-to-dialogue-v3", "stability")
    assert parse_answer(stability, "0,5") == 0.5 and parse_answer(stability, "1") == 1
    ratio = field(catalog, "gpt-image-2-text-to-image", "aspect_ratio")
    assert parse_answer(ratio, "AUTO") == "auto"
    assert parse_answer(ratio, "Авто") == "auto"  # by its Russian label
    voice = field(catalog, "elevenlabs/text-to-speech-turbo-2-5", "voice")
    assert parse_answer(voice, "james") == "EkK5I93UQWFDigLMpZcX"  # by its x-enum-names label
    wrong = error_of(duration, "7")
    assert wrong.code == "err-choice" and wrong.params == {"options": "5, 10"}


def test_booleans(catalog: Catalog) -> None:
    sound = field(catalog, "kling-2.6/text-to-video", "sound")
    for text in ("yes", "Да", "true", "1"):
        assert parse_answer(sound, text) is True
    for text in ("no", "НЕТ", "false", "0"):
        assert parse_answer(sound, text) is False
    assert error_of(sound, "maybe").code == "err-bool"


def test_json_is_checked_against_the_sub_schema(catalog: Catalog) -> None:
    bbox = field(catalog, "wan/2-7-image", "bbox_list")
    assert parse_answer(bbox, "[[[1, 2, 3, 4]]]") == [[[1, 2, 3, 4]]]
    assert error_of(bbox, "[[1,2").code == "err-json"
    bad = error_of(bbox, "[[[1, 2, 3]]]")
    assert bad.code == "err-json" and "short" in bad.params["error"]


def test_files_and_objects_are_not_typed(catalog: Catalog) -> None:
    image = field(catalog, "recraft/remove-background", "image")
    assert error_of(image, "hello").params == {"media": "image"}
    assert error_of(field(catalog, "wan/2-7-image", "color_palette"), "x").code == "err-use-buttons"


def test_build_input_keeps_only_set_schema_fields(catalog: Catalog) -> None:
    model = catalog.get("flux-2/pro-text-to-image")
    sent = build_input(model, {"prompt": "a fox", "resolution": "2K", "nsfw_checker": None, "unknown": 1,
                               "callBackUrl": "https://x"})
    # required aspect_ratio left unset gets its schema default; None and foreign keys are dropped
    assert sent == {"prompt": "a fox", "resolution": "2K", "aspect_ratio": "1:1"}
    assert validate_input(model, sent) == []


def test_build_input_drops_empty_optional_lists(catalog: Catalog) -> None:
    model = catalog.get("nano-banana-2")
    assert build_input(model, {"prompt": "x", "image_input": []}) == {"prompt": "x"}


def test_validate_input_reports_problems(catalog: Catalog) -> None:
    model = catalog.get("kling-2.6/text-to-video")
    errors = validate_input(model, {"prompt": "x", "sound": "yes", "duration": 5, "aspect_ratio": "1:1"})
    assert any(e.startswith("sound:") for e in errors) and any(e.startswith("duration:") for e in errors)


# --- any text a user may type --------------------------------------------------------------------
TYPED_FIELDS = [(m.id, f) for m in Catalog.load().models for f in m.fields
                if f.kind not in (FieldKind.FILE, FieldKind.FILES, FieldKind.OBJECTS)]


@settings(max_examples=300, deadline=None)
@given(pick=st.integers(0, len(TYPED_FIELDS) - 1), text=st.text(max_size=300))
def test_any_typed_text_is_either_accepted_or_refused_with_a_message(pick: int, text: str) -> None:
    model_id, field = TYPED_FIELDS[pick]
    try:
        value = parse_answer(field, text)
    except AnswerError as exc:
        assert exc.code.startswith("err-"), (model_id, field.name)
        return
    if field.kind == FieldKind.INTEGER:
        assert isinstance(value, int) and not isinstance(value, bool)
    if field.kind == FieldKind.CHOICE:
        assert value in field.options
    if field.kind == FieldKind.TEXT and field.max_length:
        assert len(value) <= field.max_length
