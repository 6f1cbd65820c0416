"""JSON Schema property → form field (`FieldSpec`).

A field's kind decides how the bot asks for it; see `FieldKind`. Texts (labels, hints, option names in
English and Russian) come from the catalog entry, with English fallbacks made from the schema itself.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

LANGS = ("en", "ru")
# Fields the bot fills itself (never asked, never taken from the user).
BOT_FILLED = frozenset({"callbackurl", "callback_url", "callback"})
MAX_PRESETS = 6


class FieldKind(str, enum.Enum):
    CHOICE = "choice"  # enum → buttons
    BOOL = "bool"
    INTEGER = "integer"
    NUMBER = "number"
    TEXT = "text"
    TEXTS = "texts"  # array of plain strings
    FILE = "file"  # one media URL
    FILES = "files"  # array of media URLs
    OBJECTS = "objects"  # array of objects: "add another" sub-form
    JSON = "json"  # anything else, typed as JSON and checked against the sub-schema
    TASK = "task"  # the KIE task id (or one output's id) of the user's own earlier generation: `x-parent`, never typed


@dataclass(frozen=True)
class Parent:
    """What a TASK field takes (`x-parent` in the catalogue): a successful job of one of `models` (any model when
    empty); `value` "task_id" is the job's KIE task id, "output_id" the id of one of its result items."""

    models: tuple[str, ...] = ()
    value: str = "task_id"

    def accepts(self, model_id: str) -> bool:
        return not self.models or model_id in self.models


@dataclass(frozen=True, eq=False)
class FieldSpec:
    name: str
    kind: FieldKind
    required: bool = False
    default: Any = None
    has_default: bool = False
    options: tuple[Any, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    multiple_of: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    pattern: str | None = None
    media: str | None = None  # 'image' | 'video' | 'audio' | None
    item_fields: tuple[FieldSpec, ...] = ()
    presets: tuple[Any, ...] = ()
    parent: Parent | None = None  # TASK fields only
    schema: dict[str, Any] = field(default_factory=dict)  # the property's own sub-schema
    texts: dict[str, Any] = field(default_factory=dict)  # {"label": {lang}, "hint": {lang}, "options": {value: {lang}}}

    def label(self, lang: str) -> str:
        return _pick(self.texts.get("label"), lang) or _label_from_name(self.name)

    def hint(self, lang: str) -> str:
        return _pick(self.texts.get("hint"), lang) or str(self.schema.get("description") or "")

    def option_label(self, value: Any, lang: str) -> str:
        key = option_key(value)
        named = _pick((self.texts.get("options") or {}).get(key), lang)
        if named:
            return named
        return str((self.schema.get("x-enum-names") or {}).get(key) or key)


def option_key(value: Any) -> str:
    """An enum value as the string key used in texts (`True` → "true", 0.5 → "0.5")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pick(texts: dict[str, str] | None, lang: str) -> str:
    if not texts:
        return ""
    return texts.get(lang) or texts.get("en") or ""


def _label_from_name(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


# --- building ---------------------------------------------------------------------------------
def is_bot_filled(name: str) -> bool:
    return name.lower() in BOT_FILLED


def fixed_value(prop: dict[str, Any]) -> tuple[bool, Any]:
    """(True, value) for a field whose schema allows one value only (e.g. a `model` enum of one): the bot sends it
    without asking."""
    options = prop.get("enum")
    if isinstance(options, list) and len(options) == 1:
        return True, options[0]
    if "const" in prop:
        return True, prop["const"]
    return False, None


def build_fields(
    schema: dict[str, Any],
    texts: dict[str, Any],
    form: dict[str, Any] | None = None,
    prefix: str = "",
) -> tuple[FieldSpec, ...]:
    """The form of an object schema: required fields first, then optional ones, each group in x-order.

    `form` holds per-field adjustments recorded in the catalog (see build_catalog.FORM_FIXES):
    `optional`, `required`, `hidden`, `max_items`.
    """
    props: dict[str, Any] = schema.get("properties") or {}
    order = [n for n in schema.get("x-order") or [] if n in props] + [n for n in props if n not in (schema.get("x-order") or [])]
    required = set(schema.get("required") or [])
    fixes = form or {}
    specs = []
    for name in order:
        fix = fixes.get(name) or {}
        prop = props[name]
        if is_bot_filled(name) or fix.get("hidden") or fixed_value(prop)[0] or (prop.get("deprecated") and name not in required):
            continue  # deprecated optional fields duplicate a newer one (e.g. image_size → aspect_ratio)
        is_required = (name in required and not fix.get("optional")) or bool(fix.get("required"))
        specs.append(build_field(name, prop, is_required, texts, prefix, fix))
    return tuple(sorted(specs, key=lambda f: not f.required))  # stable: keeps x-order in each group


def build_field(
    name: str, prop: dict[str, Any], required: bool, texts: dict[str, Any], prefix: str = "", fix: dict[str, Any] | None = None
) -> FieldSpec:
    fix = fix or {}
    kind = field_kind(prop)
    key = prefix + name
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    item_fields: tuple[FieldSpec, ...] = ()
    if kind is FieldKind.OBJECTS:
        item_fields = build_fields(items, texts, None, prefix=key + ".")
    spec = FieldSpec(
        name=name,
        kind=kind,
        required=required,
        default=prop.get("default"),
        has_default="default" in prop,
        options=tuple(prop.get("enum") or ()),
        minimum=prop.get("minimum"),
        maximum=prop.get("maximum"),
        multiple_of=prop.get("multipleOf"),
        min_length=prop.get("minLength"),
        max_length=prop.get("maxLength"),
        min_items=prop.get("minItems"),
        max_items=fix.get("max_items", prop.get("maxItems")),
        pattern=prop.get("pattern") if kind is FieldKind.TEXT else None,
        media=prop.get("x-media") or items.get("x-media"),
        item_fields=item_fields,
        presets=(),
        parent=_parent(prop) if kind is FieldKind.TASK else None,
        schema=prop,
        texts=(texts.get("fields") or {}).get(key) or {},
    )
    if kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        spec = replace(spec, presets=number_presets(spec))
    return spec


def _parent(prop: dict[str, Any]) -> Parent:
    spec = prop["x-parent"]
    return Parent(models=tuple(spec.get("models") or ()), value=str(spec.get("value") or "task_id"))


def field_kind(prop: dict[str, Any]) -> FieldKind:
    kind = prop.get("type")
    if isinstance(prop.get("x-parent"), dict):
        return FieldKind.TASK
    if "enum" in prop:
        return FieldKind.CHOICE
    if kind == "boolean":
        return FieldKind.BOOL
    if kind == "integer":
        return FieldKind.INTEGER
    if kind == "number":
        return FieldKind.NUMBER
    if kind == "string":
        return FieldKind.FILE if prop.get("x-media") or prop.get("format") == "uri" else FieldKind.TEXT
    if kind == "array":
        return _array_kind(prop)
    return FieldKind.JSON


def _array_kind(prop: dict[str, Any]) -> FieldKind:
    items = prop.get("items")
    if not isinstance(items, dict):
        return FieldKind.JSON
    if items.get("type") == "string" and "enum" not in items:
        is_media = prop.get("x-media") or items.get("x-media") or items.get("format") == "uri"
        return FieldKind.FILES if is_media else FieldKind.TEXTS
    if items.get("type") == "object" and items.get("properties"):
        return FieldKind.OBJECTS
    return FieldKind.JSON


def number_presets(spec: FieldSpec) -> tuple[Any, ...]:
    """3-6 values spread over the allowed range, always with the default; none for open ranges."""
    low, high = spec.minimum, spec.maximum
    if low is None or high is None or high <= low or "seed" in spec.name:
        return (spec.default,) if spec.has_default and spec.default is not None else ()
    lo, hi = Decimal(str(low)), Decimal(str(high))
    step = Decimal(str(spec.multiple_of)) if spec.multiple_of else None
    values = {_snap(lo + (hi - lo) * i / 4, spec, step) for i in range(5)}
    if spec.has_default and spec.default is not None:
        values.add(Decimal(str(spec.default)))
    values = {v for v in values if lo <= v <= hi}
    ordered = sorted(values)
    if len(ordered) > MAX_PRESETS:  # keep the ends and the default
        keep = {ordered[0], ordered[-1]} | ({Decimal(str(spec.default))} if spec.has_default else set())
        ordered = sorted(keep | set(ordered[1 : MAX_PRESETS - len(keep) + 1]))
    return tuple(_plain(v, spec.kind) for v in ordered)


def _snap(value: Decimal, spec: FieldSpec, step: Decimal | None) -> Decimal:
    if spec.kind is FieldKind.INTEGER:
        step = step or Decimal(1)
    if step:
        return (value / step).to_integral_value() * step
    return value.quantize(Decimal("0.01")).normalize()


def _plain(value: Decimal, kind: FieldKind) -> int | float:
    """JSON-ready: ints stay ints (a number field may still take 5), other values become floats."""
    if kind is FieldKind.INTEGER or value == value.to_integral_value():
        return int(value)
    return float(value)
