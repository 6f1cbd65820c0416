"""Typed answers → values → the `input` object sent to KIE.

`parse_answer` raises `AnswerError(code, **params)`; `code` is a Fluent message id. Codes and their params:

- `err-empty` — an empty answer.
- `err-not-a-number` — not a number (both `.` and `,` are decimal separators).
- `err-integer` — a whole number was expected.
- `err-number-range` (`min`, `max`) — outside both bounds; `err-number-min` (`min`) / `err-number-max` (`max`)
  when the schema gives only one bound.
- `err-multiple-of` (`step`) — not a multiple of the step.
- `err-text-too-short` (`min`, `length`), `err-text-too-long` (`max`, `length`).
- `err-pattern` (`pattern`) — the text does not have the required form (e.g. a colour `#RRGGBB`).
- `err-choice` (`options`: the accepted values, comma-separated) — not one of the options.
- `err-bool` — not yes/no (yes/no/да/нет/true/false/1/0, also y/n/д/н).
- `err-json` (`error`) — not JSON, or JSON that does not fit the field (`error` says what).
- `err-expected-file` (`media`: image | video | audio | document) — the field takes a file, not text.
- `err-use-buttons` — the field is answered with buttons (a list of objects).
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from jsonschema import Draft202012Validator

from kiebot.catalog.fields import FieldKind, FieldSpec, fixed_value, is_bot_filled, option_key
from kiebot.catalog.model import ModelSpec

YES = frozenset({"yes", "y", "true", "1", "да", "д", "on"})
NO = frozenset({"no", "n", "false", "0", "нет", "н", "off"})
MAX_OPTIONS_SHOWN = 12


class AnswerError(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params


def parse_answer(field: FieldSpec, text: str) -> Any:
    """A typed answer as the schema types it, or AnswerError."""
    kind = field.kind
    if kind in (FieldKind.FILE, FieldKind.FILES):
        raise AnswerError("err-expected-file", media=field.media or "document")
    if kind in (FieldKind.OBJECTS, FieldKind.TASK):  # a TASK is picked from the user's own generations
        raise AnswerError("err-use-buttons")
    raw = (text or "").strip()
    if not raw:
        raise AnswerError("err-empty")
    parsers = {
        FieldKind.CHOICE: _choice,
        FieldKind.BOOL: _bool,
        FieldKind.INTEGER: _number,
        FieldKind.NUMBER: _number,
        FieldKind.TEXT: _text,
        FieldKind.TEXTS: _texts_item,
        FieldKind.JSON: _json,
    }
    return parsers[kind](field, raw)


def _choice(field: FieldSpec, raw: str) -> Any:
    wanted = raw.casefold()
    for option in field.options:
        labels = {option_key(option), field.option_label(option, "en"), field.option_label(option, "ru")}
        if wanted in {label.casefold() for label in labels}:
            return option
    number = _decimal(raw)
    for option in field.options:  # "0,5" for 0.5
        if number is not None and not isinstance(option, (bool, str)) and Decimal(str(option)) == number:
            return option
    shown = ", ".join(option_key(o) for o in field.options[:MAX_OPTIONS_SHOWN])
    raise AnswerError("err-choice", options=shown + (", …" if len(field.options) > MAX_OPTIONS_SHOWN else ""))


def _bool(field: FieldSpec, raw: str) -> bool:
    word = raw.casefold()
    if word in YES:
        return True
    if word in NO:
        return False
    raise AnswerError("err-bool")


def _number(field: FieldSpec, raw: str) -> int | float:
    number = _decimal(raw)
    if number is None:
        raise AnswerError("err-not-a-number")
    whole = number == number.to_integral_value()
    if field.kind is FieldKind.INTEGER and not whole:
        raise AnswerError("err-integer")
    _check_bounds(field, number)
    if field.multiple_of and number % Decimal(str(field.multiple_of)) != 0:
        raise AnswerError("err-multiple-of", step=_show(field.multiple_of))
    return int(number) if whole else float(number)


def _decimal(raw: str) -> Decimal | None:
    try:
        number = Decimal(raw.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _check_bounds(field: FieldSpec, number: Decimal) -> None:
    low, high = field.minimum, field.maximum
    too_low = low is not None and number < Decimal(str(low))
    too_high = high is not None and number > Decimal(str(high))
    if not (too_low or too_high):
        return
    if low is not None and high is not None:
        raise AnswerError("err-number-range", min=_show(low), max=_show(high))
    if too_low:
        raise AnswerError("err-number-min", min=_show(low))
    raise AnswerError("err-number-max", max=_show(high))


def _show(value: Any) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def _text(field: FieldSpec, raw: str) -> str:
    return _checked_text(raw, field.min_length, field.max_length, field.pattern)


def _texts_item(field: FieldSpec, raw: str) -> str:
    items = field.schema.get("items") or {}
    return _checked_text(raw, items.get("minLength"), items.get("maxLength"), items.get("pattern"))


def _checked_text(raw: str, min_length: int | None, max_length: int | None, pattern: str | None) -> str:
    if min_length is not None and len(raw) < min_length:
        raise AnswerError("err-text-too-short", min=min_length, length=len(raw))
    if max_length is not None and len(raw) > max_length:
        raise AnswerError("err-text-too-long", max=max_length, length=len(raw))
    if pattern and _errors({"type": "string", "pattern": pattern}, raw):
        raise AnswerError("err-pattern", pattern=pattern)
    return raw


def _json(field: FieldSpec, raw: str) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AnswerError("err-json", error=exc.msg) from None
    errors = _errors(_sub_schema(field.schema), value)
    if errors:
        raise AnswerError("err-json", error=errors[0])
    return value


def _sub_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """The property schema without our annotations (they are not JSON Schema keywords anyway)."""
    return {k: v for k, v in prop.items() if not k.startswith("x-")}


def _errors(schema: dict[str, Any], value: Any) -> list[str]:
    return [_describe(e) for e in Draft202012Validator(schema).iter_errors(value)]


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


# --- input ------------------------------------------------------------------------------------------
def build_input(model: ModelSpec, values: dict[str, Any]) -> dict[str, Any]:
    """The KIE `input`: the set values (typed already), the one value of a field that allows only one, the schema
    default of a required field left unset,
    and `[]` for arrays the schema requires but the form lets the user skip (ModelSpec.notes says why)."""
    props: dict[str, Any] = model.schema.get("properties") or {}
    result: dict[str, Any] = {}
    for name, value in values.items():
        if name in props and not is_bot_filled(name) and not _blank(value):
            result[name] = _clean(value)
    for name, prop in props.items():
        fixed, value = fixed_value(prop)
        if fixed and (name in (model.schema.get("required") or []) or name == "model"):
            result[name] = value  # one allowed value (a fixed `model`): the bot fills it, never asks
    for name in model.schema.get("required") or []:
        prop = props.get(name) or {}
        if name in result:
            continue
        if "default" in prop:
            result[name] = prop["default"]
        elif prop.get("type") == "array":
            result[name] = []
    return result


def _blank(value: Any) -> bool:
    return value is None or value == [] or value == ""


def _clean(value: Any) -> Any:
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    return value


def validate_input(model: ModelSpec, input: dict[str, Any]) -> list[str]:
    """Problems of `input` against the model's schema as published (empty: valid), but for the fields the KIE
    adapter fills itself (a required `callBackUrl` of Suno's endpoints)."""
    schema = model.schema
    if any(is_bot_filled(name) for name in schema.get("required") or []):
        schema = {**schema, "required": [n for n in schema["required"] if not is_bot_filled(n)]}
    return sorted(_describe(e) for e in Draft202012Validator(schema).iter_errors(input))
