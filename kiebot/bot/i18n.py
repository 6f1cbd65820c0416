"""Fluent texts in Russian and English. No user-facing string lives in Python code."""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from fluent.runtime import FluentBundle, FluentResource
from fluent.runtime.types import fluent_number

log = logging.getLogger(__name__)
LANGUAGES = ("ru", "en")
Translate = Callable[..., str]
FORMATTED_KEPT = 4096  # formatted texts kept, least recently used dropped first


class Translator:
    def __init__(self, default_language: str = "ru") -> None:
        self.default_language = default_language
        self._bundles = {lang: _load_bundle(lang) for lang in LANGUAGES}
        self._plain: dict[tuple[str, str], str] = {}  # texts without parameters, formatted once (button labels…)
        # Texts with parameters repeat too (a step's header, "default: 1:1"); formatting one with Fluent costs more
        # than the rest of a wizard step's screen, so the last few thousand are kept.
        self._formatted: OrderedDict[Hashable, str] = OrderedDict()

    def get(self, lang: str, key: str, **params: Any) -> str:
        if not params:
            if (text := self._plain.get((lang, key))) is None:
                text = self._plain[(lang, key)] = self._format(lang, key, params)
            return text
        cache_key = (lang, key, *params.items())
        try:
            text = self._formatted[cache_key]
        except KeyError:
            text = self._format(lang, key, params)
            self._remember(cache_key, text)
        except TypeError:  # a parameter that cannot be a key (none of ours today): formatted every time
            return self._format(lang, key, params)
        else:
            self._formatted.move_to_end(cache_key)
        return text

    def _remember(self, cache_key: Hashable, text: str) -> None:
        self._formatted[cache_key] = text
        if len(self._formatted) > FORMATTED_KEPT:
            self._formatted.popitem(last=False)

    def _format(self, lang: str, key: str, params: dict[str, Any]) -> str:
        bundle = self._bundles.get(lang) or self._bundles[self.default_language]
        if not bundle.has_message(key):
            bundle = self._bundles["en"]
        message = bundle.get_message(key)
        if message.value is None:
            raise KeyError(f"text {key!r} has no value")
        args = {k: _fluent_value(v) for k, v in params.items()}
        text, errors = bundle.format_pattern(message.value, args)
        if errors:  # a missing parameter must not cost the user their answer: log it and show the rest
            log.error("text %r in %s: %s", key, lang, errors)
        return text

    def bind(self, lang: str) -> Translate:
        """A `tr(key, **params)` for one language, handed to handlers."""
        def tr(key: str, **params: Any) -> str:
            return self.get(lang, key, **params)

        return tr

    def keys(self, lang: str) -> set[str]:
        return set(self._bundles[lang]._messages)

    def resolve_language(self, chosen: str | None, telegram_code: str | None) -> str:
        """The user's own choice, then Telegram's language_code, then the default."""
        if chosen in LANGUAGES:
            return chosen
        code = (telegram_code or "").split("-")[0].lower()
        if code in LANGUAGES:
            return code
        # Users of Russian-speaking locales expect Russian; everyone else gets English.
        if code in ("uk", "be", "kk", "uz", "ky", "tg"):
            return "ru"
        return "en" if code else self.default_language


def _fluent_value(value: Any) -> Any:
    # Ids and amounts print as plain digits ("#1234", "100000 💎"), not "1,234" / "1 234".
    if isinstance(value, int) and not isinstance(value, bool):
        return fluent_number(value, useGrouping=False)
    if isinstance(value, (str, datetime)):  # dates are formatted by the text's own DATETIME()
        return value
    return str(value)


@cache
def _load_bundle(lang: str) -> FluentBundle:
    bundle = FluentBundle([lang], use_isolating=False)
    folder = resources.files("kiebot.bot").joinpath("locales", lang)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".ftl"):
            bundle.add_resource(FluentResource(entry.read_text(encoding="utf-8")))
    return bundle
