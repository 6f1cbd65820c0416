"""Every user-facing text exists in Russian and English, and the Russian one is a real translation."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from kiebot.bot.i18n import LANGUAGES, Translator
from kiebot.catalog import Catalog

# What may legitimately read the same in both languages: placeholders, numbers, emoji, markup, brand names.
NEUTRAL = re.compile(r"\{[^}]*\}|<[^>]+>|&[a-z]+;|[\d\s\W_]+|💎|\b[AP]M\b")
# Names and values are left empty: only the words of the text itself are compared.
SAMPLE = dict(balance=120, bonus=100, held=5, name="", model="", job=7, price=14, low=4, high=9, total=5,
              required=2, number=1, min=1, max=10, count=3, chars=4100, media="image", value="", task="",
              category="", shortfall=20, after=86, ahead=1, bar="", percent=40, charged=14, reason="",
              state="", when=datetime(2026, 12, 3, 8, 5, tzinfo=UTC), user_id=5, amount=10, error="", pattern="", step=2, length=3,
              seconds=70, options="", credits=220, stars=100, what="", link="", detail="", code="", charge="",
              debited=50, uses=3, days=7, left=1)
WORD = re.compile(r"[A-Za-z]{4,}")
translator = Translator()


def letters(text: str) -> str:
    return NEUTRAL.sub("", text).lower()


def test_both_languages_have_the_same_texts() -> None:
    assert translator.keys("ru") == translator.keys("en")


@pytest.mark.parametrize("key", sorted(translator.keys("en")))
def test_russian_text_is_a_translation(key: str) -> None:
    en, ru = (translator.get(lang, key, **SAMPLE) for lang in ("en", "ru"))
    assert en.strip() and ru.strip()
    if letters(en):
        assert letters(ru) != letters(en), f"{key}: the Russian text equals the English one"
        assert re.search("[а-яё]", ru, re.IGNORECASE), f"{key}: no Russian letters in {ru!r}"


def test_catalog_texts_are_translated() -> None:
    catalog = Catalog.load()
    same = []
    for model in catalog.models:
        if letters(model.description("ru")) == letters(model.description("en")):
            same.append(f"{model.id}: description")
        for field in model.fields:
            if WORD.search(field.hint("en")) and letters(field.hint("ru")) == letters(field.hint("en")):
                same.append(f"{model.id}.{field.name}: hint")
            if letters(field.label("ru")) == letters(field.label("en")):
                same.append(f"{model.id}.{field.name}: label")
    for category in catalog.categories():
        if catalog.category_label(category, "ru") == catalog.category_label(category, "en"):
            same.append(f"category {category}")
    assert not same, same


@pytest.mark.parametrize(("telegram", "chosen", "expected"), [
    ("ru", None, "ru"), ("en-US", None, "en"), ("uk", None, "ru"), ("de", None, "en"), (None, None, "ru"),
    ("ru", "en", "en"), ("en", "ru", "ru"),
])
def test_language_follows_choice_then_telegram_then_default(telegram: str | None, chosen: str | None, expected: str) -> None:
    assert Translator("ru").resolve_language(chosen, telegram) == expected
    assert set(LANGUAGES) == {"ru", "en"}


def test_a_formatted_text_is_kept_per_language_and_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = Translator()
    formatted: list[tuple[str, str]] = []
    real = fresh._format
    monkeypatch.setattr(fresh, "_format", lambda lang, key, params: formatted.append((lang, key)) or real(lang, key, params))

    first = fresh.get("en", "step-header", model="Flux", number=1, total=3)
    assert fresh.get("en", "step-header", model="Flux", number=1, total=3) == first
    assert formatted == [("en", "step-header")]
    assert fresh.get("en", "step-header", model="Flux", number=2, total=3) != first
    assert fresh.get("ru", "step-header", model="Flux", number=1, total=3) != first
    assert len(formatted) == 3


def test_the_kept_texts_are_bounded_and_odd_parameters_still_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kiebot.bot.i18n.FORMATTED_KEPT", 3)
    fresh = Translator()
    for number in range(10):
        assert "10" in fresh.get("en", "step-header", model="Flux", number=number, total=10)
    assert len(fresh._formatted) == 3
    assert "Flux" in fresh.get("en", "step-header", model="Flux", number=[1], total=10)  # unhashable: no cache
