"""Answers to a step: typed values and long texts in parts (services.answers)."""
from __future__ import annotations

import pytest

from kiebot.catalog import Catalog, FieldKind
from kiebot.services import answers
from kiebot.services.wizard import LONG_PART, Draft

CATALOG = Catalog.load()


def long_text_model():
    """A model whose first step is a text with a limit a few messages long."""
    for model in CATALOG.models:
        first = model.fields[0]
        if first.kind == FieldKind.TEXT and first.max_length and 2 * LONG_PART < first.max_length < 20_000:
            return model
    raise AssertionError("no model with a long limited text first")


def test_a_long_text_in_parts_stops_at_the_fields_limit_and_keeps_what_came() -> None:
    model = long_text_model()
    limit = model.fields[0].max_length
    draft = Draft.start(model)
    sent = 0
    while sent + LONG_PART <= limit:
        assert answers.answer_text(draft, model, "a" * LONG_PART) is False
        sent += LONG_PART
    with pytest.raises(answers.AnswerError) as refused:
        answers.answer_text(draft, model, "b" * LONG_PART)
    assert refused.value.code == "err-text-parts-too-long"
    assert refused.value.params == {"chars": sent, "max": limit}
    assert draft.partial_text == "a" * sent and draft.current == model.fields[0].name
    assert answers.answer_text(draft, model, "", finish=True) is True
    assert draft.values[model.fields[0].name] == "a" * sent


def test_a_file_step_refuses_text() -> None:
    model = next(m for m in CATALOG.models if m.fields[0].kind == FieldKind.FILE)
    with pytest.raises(answers.AnswerError) as refused:
        answers.answer_text(Draft.start(model), model, "https://example.com/cat.png")
    assert refused.value.code == "err-expected-file"
