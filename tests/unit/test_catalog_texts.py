"""The catalogue's texts speak to a Telegram user, not to an API reader.

The user answers with Yes/No buttons and sends photos, videos and audio files (the bot uploads them), so a label,
hint or option name never talks about `true`/`false`, URLs, strings, JSON, field names and the like.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from kiebot.catalog import Catalog, FieldSpec

LANGS = ("en", "ru")
_I = re.IGNORECASE
# (why it is API talk, pattern): word-bounded, case-insensitive except where the case is the point.
BANNED = [
    ("a JSON literal", re.compile(r"\b(true|false|null)\b", _I)),
    ("a type name", re.compile(r"\b(strings?|booleans?|integers?|arrays?|enums?)\b", _I)),
    ("JSON", re.compile(r"\bjson\b", _I)),
    ("API", re.compile(r"\bapis?\b", _I)),
    ("a URL", re.compile(r"\b(urls?|uris?)\b", _I)),
    ("a URI scheme", re.compile(r"\b[a-z]+://", _I)),
    ("schema", re.compile(r"\bschemas?\b", _I)),
    ("an x- key", re.compile(r"\bx-[a-z]", _I)),
    ("base64", re.compile(r"\bbase64\b", _I)),
    ("a parameter", re.compile(r"\bparam(eter)?s?\b", _I)),
    ("an endpoint", re.compile(r"\bendpoints?\b", _I)),
    ("request/response", re.compile(r"\b(requests?|responses?|payloads?)\b", _I)),
    ("the API docs", re.compile(r"\b(docs|documentation)\b", _I)),
    ("a field name in backticks", re.compile(r"`")),
    ("a snake_case field name", re.compile(r"\b[a-z][a-z0-9]*(_[a-z0-9]+)+\b")),
    ("a camelCase key", re.compile(r"\b[a-z]{2,}[A-Z][A-Za-z0-9]*\b")),  # taskId, assetId; not brands like xAI
    ("ссылка (a URL)", re.compile(r"\bссылк\w*", _I)),
    ("параметр", re.compile(r"\bпараметр\w*", _I)),
    ("строка (a string)", re.compile(r"\bстрок\w*", _I)),
    ("массив (an array)", re.compile(r"\bмассив\w*", _I)),
    ("булево/логическое (a boolean)", re.compile(r"\b(булев|логическ)\w*", _I)),
    ("целочисленный (an integer)", re.compile(r"\bцелочисл\w*", _I)),
    ("эндпоинт", re.compile(r"\bэндпоинт\w*", _I)),
    ("запрос (a request)", re.compile(r"\bзапрос\w*", _I)),
    ("передать (through the API)", re.compile(r"\bпереда(ётся|ется|йте|вать|ть)\b", _I)),
    ("документация (the API docs)", re.compile(r"\bдокументаци\w*", _I)),
]


def api_talk(text: str) -> list[str]:
    """What in `text` is written for API readers: 'why: matched text' for every banned pattern found."""
    found = []
    for why, pattern in BANNED:
        match = pattern.search(text)
        if match:
            found.append(f"{why}: {match.group(0)!r}")
    return found


def walk(fields: tuple[FieldSpec, ...], prefix: str = "") -> Iterator[tuple[str, FieldSpec]]:
    for spec in fields:
        yield prefix + spec.name, spec
        yield from walk(spec.item_fields, prefix + spec.name + ".")


def user_texts(catalog: Catalog) -> Iterator[tuple[str, str, str, str, str]]:
    """(model id, field path, which text, language, text) for every text the wizard shows about a field."""
    for model in catalog.models:
        for path, spec in walk(model.fields):
            for lang in LANGS:
                yield model.id, path, "label", lang, spec.label(lang)
                yield model.id, path, "hint", lang, spec.hint(lang)
                for value in spec.options:
                    yield model.id, path, f"option {value!r}", lang, spec.option_label(value, lang)


def test_labels_hints_and_options_are_written_for_users() -> None:
    problems = [
        f"{model_id} {path} {which} [{lang}] {text!r} → {'; '.join(found)}"
        for model_id, path, which, lang, text in user_texts(Catalog.load())
        if (found := api_talk(text))
    ]
    assert not problems, f"{len(problems)} texts talk API (fix scripts/catalog_texts.json and rebuild):\n" + "\n".join(
        problems)


@pytest.mark.parametrize("text", [
    "KIE content filter: true filters results, false returns raw model output",
    "Provider safety check; pass false through the API to switch it off",
    "Random seed, given as a string",
    "Voice id (see x-enum-names)",
    "First-frame image URL or asset://<assetId>",
    "Multi-shot mode (uses multi_prompt) instead of a single shot",
    "taskId of a successful task",
    "Send the value as `JSON`",
    "Ссылка на исходное видео",
    "Параметр shift сэмплера видео",
    "Доля цвета, строкой",
    "чтобы отключить, передайте false через API",
])
def test_the_check_catches_api_talk(text: str) -> None:
    assert api_talk(text)


@pytest.mark.parametrize("text", [
    "Yes — add sound to the video",
    "Image used as the first frame (JPEG/PNG, max 10 MB)",
    "Elements (characters/objects) referred to in the prompt as @name",
    "Да — проверять результат на недопустимый контент; Нет — без проверки",
    "Случайное зерно (seed); повторите значение, чтобы воспроизвести результат",
    "Two-letter language code (ISO 639-1), e.g. en",
    "Voices made earlier with xAI Grok",
])
def test_the_check_lets_user_language_through(text: str) -> None:
    assert api_talk(text) == []
