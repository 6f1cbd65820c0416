"""The operator's override file (`CATALOG_PATH`): hide, reprice, rename or add models without a release.

Format (JSON; every key optional)::

    {
      "models": {
        "google/nano-banana": {"hidden": true},
        "flux-2/pro-text-to-image": {"pricing": [{"when": {"resolution": "1K"}, "credits": 6, "unit": "per image"},
                                                 {"when": {"resolution": "2K"}, "credits": 8, "unit": "per image"}]},
        "z-image": {"credits_multiplier": 1.25, "pin": 1},
        "kling-2.6/text-to-video": {"name": {"en": "Kling 2.6", "ru": "Kling 2.6"},
                                    "description": {"en": "…", "ru": "…"}},
        "acme/new-model": {"category": "image", "task": "text-to-image", "vendor": "Acme",
                           "name": {"en": "Acme", "ru": "Acme"},
                           "input_schema": {"type": "object", "required": ["prompt"],
                                            "properties": {"prompt": {"type": "string"}}},
                           "pricing": [{"when": {}, "credits": 5, "unit": "per image"}]}
      },
      "categories": {"image": {"en": "Pictures", "ru": "Картинки"}},
      "tasks": {"text-to-image": {"en": "From text", "ru": "Из текста"}}
    }

Per model: `hidden` (bool), `pricing` (list of rules, replaces the shipped ones), `credits_multiplier` (number > 0,
applied after `pricing`), `name` / `description` ({"en", "ru"} or one string for both), `category`, `task`, `vendor`,
`typical_seconds`, `max_media_seconds`, `length_field`, `callback_required`, `input_schema` (replaces the schema),
`pin` (an integer: pinned models come first in their category and task lists, lower pin first; the others follow).
An id not in the shipped catalogue adds a model and needs `category`, `task`, `input_schema` and `pricing`.
Any problem raises `CatalogError` with the file, the model id and what is wrong.
"""
from __future__ import annotations

import copy
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from kiebot.catalog.common import CatalogError, unique_slug

UNITS = frozenset({
    "per image", "per request", "per video", "per second", "per 1000 chars", "per megapixel",
    "per 4 images", "per 6 images",
})
MODEL_KEYS = frozenset({
    "hidden", "pricing", "credits_multiplier", "name", "description", "category", "task", "vendor",
    "typical_seconds", "max_media_seconds", "length_field", "callback_required", "input_schema", "pin",
})
NEW_MODEL_KEYS = ("category", "task", "input_schema", "pricing")
TOP_KEYS = frozenset({"models", "categories", "tasks"})


def read_override(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"CATALOG_PATH {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"CATALOG_PATH {path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(f"CATALOG_PATH {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise CatalogError(f"CATALOG_PATH {path}: the top level must be an object")
    try:
        _check_top(data)
    except CatalogError as exc:
        raise CatalogError(f"CATALOG_PATH {path}: {exc}") from None
    return data


def apply_override(data: dict[str, Any], override: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A new catalogue dict with the override applied, and the ids it hid."""
    _check_top(override)
    data = copy.deepcopy(data)
    for group in ("categories", "tasks"):
        data.setdefault(group, {}).update(override.get(group) or {})
    entries = {e["id"]: e for e in data["models"]}
    hidden: list[str] = []
    for model_id, patch in (override.get("models") or {}).items():
        entry = entries.get(model_id)
        if entry is None:
            entry = _new_entry(model_id, patch, {e["slug"] for e in entries.values()})
            entries[model_id] = entry
            data["models"].append(entry)
        _patch(entry, patch)
        if patch.get("hidden"):
            hidden.append(model_id)
    # Hidden models are not offered, but jobs confirmed before the operator hid them still need their spec.
    data["withheld"] = list(data.get("withheld") or []) + [e for e in data["models"] if e["id"] in hidden]
    data["models"] = [e for e in data["models"] if e["id"] not in hidden]
    return data, tuple(hidden)


def _check_top(override: dict[str, Any]) -> None:
    unknown = set(override) - TOP_KEYS
    if unknown:
        raise CatalogError(f"unknown top-level keys {sorted(unknown)} (allowed: {sorted(TOP_KEYS)})")
    for group in ("models", "categories", "tasks"):
        if not isinstance(override.get(group, {}), dict):
            raise CatalogError(f"'{group}' must be an object")
    for model_id, patch in (override.get("models") or {}).items():
        if not isinstance(patch, dict):
            raise CatalogError(f"model {model_id}: must be an object")
        _check_patch(model_id, patch)


def _check_patch(model_id: str, patch: dict[str, Any]) -> None:
    def fail(problem: str) -> None:
        raise CatalogError(f"model {model_id}: {problem}")

    unknown = set(patch) - MODEL_KEYS
    if unknown:
        fail(f"unknown keys {sorted(unknown)} (allowed: {sorted(MODEL_KEYS)})")
    if "hidden" in patch and not isinstance(patch["hidden"], bool):
        fail("'hidden' must be true or false")
    if "pin" in patch and (isinstance(patch["pin"], bool) or not isinstance(patch["pin"], int)):
        fail("'pin' must be a whole number (lower comes first)")
    if "credits_multiplier" in patch and not _positive(patch["credits_multiplier"]):
        fail("'credits_multiplier' must be a number above 0")
    if "pricing" in patch:
        problem = pricing_problem(patch["pricing"])
        if problem:
            fail(problem)
    if "input_schema" in patch:
        problem = schema_problem(patch["input_schema"])
        if problem:
            fail(problem)
    for key in ("name", "description"):
        if key in patch and not _is_texts(patch[key]):
            fail(f"'{key}' must be a string or an object of strings by language")


def pricing_problem(rules: Any) -> str | None:
    if not isinstance(rules, list) or not rules:
        return "'pricing' must be a non-empty list of rules"
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            return f"pricing[{i}] must be an object"
        if not isinstance(rule.get("when", {}), dict):
            return f"pricing[{i}].when must be an object"
        if not _positive(rule.get("credits")):
            return f"pricing[{i}].credits must be a number above 0"
        if rule.get("unit") not in UNITS:
            return f"pricing[{i}].unit must be one of {sorted(UNITS)}"
    return None


def schema_problem(schema: Any) -> str | None:
    if not isinstance(schema, dict) or schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        return "'input_schema' must be a JSON Schema object with 'properties'"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"'input_schema' is not a valid JSON Schema: {exc.message}"
    return None


def _new_entry(model_id: str, patch: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    missing = [k for k in NEW_MODEL_KEYS if k not in patch]
    if missing:
        raise CatalogError(f"model {model_id}: not in the shipped catalogue, so it needs {missing}")
    return {
        "id": model_id,
        "slug": unique_slug(model_id, taken),
        "vendor": "",
        "name": {"en": model_id, "ru": model_id},
        "description": {"en": "", "ru": ""},
        "callback_required": False,
        "typical_seconds": 60,
        "texts": {},
    }


def _patch(entry: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if key in ("hidden", "credits_multiplier"):
            continue
        entry[key] = _as_texts(value) if key in ("name", "description") else copy.deepcopy(value)
    if "input_schema" in patch:
        entry["texts"] = {}  # texts of the old schema's fields may not fit the new one
        entry["form"] = {}
    if "credits_multiplier" in patch:
        factor = Decimal(str(patch["credits_multiplier"]))
        entry["pricing"] = [{**r, "credits": _json_number(Decimal(str(r["credits"])) * factor)} for r in entry["pricing"]]


def _json_number(value: Decimal) -> int | str:
    """Credits stay exact: an int when whole, else the decimal as a string (pricing reads both via Decimal(str()))."""
    return int(value) if value == value.to_integral_value() else str(value.normalize())


def _positive(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return Decimal(str(value)) > 0
    except InvalidOperation:
        return False


def _is_texts(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))


def _as_texts(value: Any) -> dict[str, str]:
    return {"en": value, "ru": value} if isinstance(value, str) else dict(value)
