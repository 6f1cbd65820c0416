"""The bot's own texts (its Fluent files), for tests that recognise screens by them.

``texts("btn-start-model")`` is a label exactly as Telegram shows it ("▶ Start"); ``texts.line("step-header",
model="Nano Banana")`` is a regular expression for the first line of a text, with the parameters not given as
named groups ("Nano Banana · step (?P<number>.+?) of (?P<total>.+?)").
"""
from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from typing import Any

from fluent.syntax import FluentParser, ast

import kiebot

TAG = re.compile(r"<[^>]+>")


class Texts:
    """The texts of one language ("en" or "ru"), plain as Telegram shows them (HTML tags removed)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._messages = _load(lang)

    def __call__(self, key: str, **params: Any) -> str:
        """The whole text of `key` with `params` (a select picks the variant named by the value, else the default)."""
        return _plain(_render(self._pattern(key).elements, params))

    def line(self, key: str, **known: Any) -> re.Pattern[str]:
        """The first line of `key` as a pattern: the `known` parameters (not None) are literal, the others and
        any select are matched by named groups / anything."""
        parts: list[str] = []
        for element in self._pattern(key).elements:
            if isinstance(element, ast.TextElement):
                text = _plain(element.value)
                parts.append(re.escape(text.split("\n", 1)[0]))
                if "\n" in text:
                    break
            elif isinstance(element.expression, ast.VariableReference):
                name = element.expression.id.name
                if known.get(name) is not None:
                    parts.append(re.escape(str(known[name])))
                else:
                    parts.append(f"(?P={name})" if f"(?P<{name}>" in "".join(parts) else f"(?P<{name}>.+?)")
            elif isinstance(element.expression, ast.StringLiteral):
                parts.append(re.escape(element.expression.value))
            else:
                parts.append(".*?")
        return re.compile("".join(parts))

    def _pattern(self, key: str) -> ast.Pattern:
        message = self._messages.get(key)
        if message is None or message.value is None:
            raise KeyError(f"no text {key!r} in the bot's {self.lang} texts")
        return message.value


@cache
def _load(lang: str) -> dict[str, ast.Message]:
    """The messages of the .ftl files of `lang`, wherever under the kiebot package its `locales` folder is."""
    files = sorted(Path(kiebot.__file__).parent.rglob(f"locales/{lang}/*.ftl"))
    if not files:
        raise FileNotFoundError(f"no locales/{lang}/*.ftl under the kiebot package")
    parser = FluentParser()
    return {entry.id.name: entry for path in files for entry in parser.parse(path.read_text("utf-8")).body
            if isinstance(entry, ast.Message)}


def _render(elements: list[Any], params: dict[str, Any]) -> str:
    out = []
    for element in elements:
        if isinstance(element, ast.TextElement):
            out.append(element.value)
            continue
        expression = element.expression
        if isinstance(expression, ast.VariableReference):
            out.append(html.escape(str(params[expression.id.name])))
        elif isinstance(expression, ast.StringLiteral):
            out.append(expression.value)
        elif isinstance(expression, ast.SelectExpression):
            value = str(params[expression.selector.id.name])
            variant = next((v for v in expression.variants if _key(v) == value), None)
            variant = variant or next(v for v in expression.variants if v.default)
            out.append(_render(variant.value.elements, params))
        else:
            raise ValueError(f"unsupported Fluent expression {type(expression).__name__}")
    return "".join(out)


def _key(variant: ast.Variant) -> str:
    return variant.key.name if isinstance(variant.key, ast.Identifier) else variant.key.value


def _plain(text: str) -> str:
    return html.unescape(TAG.sub("", text))
