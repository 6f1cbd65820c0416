"""The catalogue: offered models (`ModelSpec`), their form fields and price rules, as loaded data.

The shipped `data/catalog.json` is built by `scripts/build_catalog.py`; an operator may change it at run time with an
override file (`CATALOG_PATH`), described in `apply_override` and docs/catalog-override.md.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from kiebot.catalog.common import CatalogError
from kiebot.catalog.fields import FieldSpec, build_fields
from kiebot.catalog.override import apply_override, read_override

HIDDEN_REASON = "hidden by CATALOG_PATH"


@dataclass(frozen=True, eq=False)
class ModelSpec:
    id: str
    slug: str
    category: str
    task: str
    vendor: str
    schema: dict[str, Any]
    fields: tuple[FieldSpec, ...]
    pricing: tuple[dict[str, Any], ...]  # rules that can match the schema
    typical_seconds: int
    callback_required: bool = False
    max_media_seconds: int | None = None  # per-second prices driven by an input file: the most we hold for
    length_field: str | None = None  # the input file whose length drives a per-second price
    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # why the form differs from the schema, per field
    pin: int | None = None  # from CATALOG_PATH: listed first in its category and task lists, lower pin first
    # Model-specific KIE endpoints: {"family", "create", "poll", "scope"} (kiebot/kie/families); empty: the market API.
    api: dict[str, str | None] = field(default_factory=dict)
    # Values KIE infers when a field is left out: {name: {"from": field, "empty": value, "filled": value}}.
    inferred: dict[str, dict[str, Any]] = field(default_factory=dict)

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("en") or self.id

    def description(self, lang: str) -> str:
        return self.descriptions.get(lang) or self.descriptions.get("en") or ""

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def has_field(self, name: str) -> bool:
        return any(spec.name == name for spec in self.fields)


# --- building ModelSpec from a catalog entry ------------------------------------------------------
def model_from_entry(entry: dict[str, Any]) -> ModelSpec:
    schema = entry["input_schema"]
    texts = entry.get("texts") or {}
    form = entry.get("form") or {}
    return ModelSpec(
        id=entry["id"],
        slug=entry["slug"],
        category=entry["category"],
        task=entry["task"],
        vendor=entry.get("vendor") or "",
        schema=schema,
        fields=build_fields(schema, texts, form),
        pricing=tuple(r for r in entry.get("pricing") or [] if rule_can_match(r, schema)),
        typical_seconds=int(entry.get("typical_seconds") or 60),
        callback_required=bool(entry.get("callback_required")),
        max_media_seconds=entry.get("max_media_seconds"),
        length_field=entry.get("length_field"),
        names=dict(entry.get("name") or {}),
        descriptions=dict(entry.get("description") or {}),
        notes={k: str(v.get("reason", "")) for k, v in form.items()},
        pin=entry.get("pin"),
        api=dict(entry.get("api") or {}),
        inferred=dict(entry.get("inferred") or {}),
    )


def rule_can_match(rule: dict[str, Any], schema: dict[str, Any]) -> bool:
    """False for price rows naming a value the schema does not accept (a KIE doc issue, e.g. duration '15')."""
    props = schema.get("properties") or {}
    for key, wanted in (rule.get("when") or {}).items():
        if key.startswith("x-"):
            continue
        prop = props.get(key)
        if prop is None:
            return False
        if "enum" in prop and not any(same_value(wanted, option) for option in prop["enum"]):
            return False
    return True


def same_value(a: Any, b: Any) -> bool:
    """Equality as the schema types it: booleans only equal booleans; numbers compare as numbers, "5" ≠ 5."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return Decimal(str(a)) == Decimal(str(b))
    return type(a) is type(b) and a == b


# --- the catalogue ---------------------------------------------------------------------------------
NEEDS_CALLBACK_REASON = "KIE requires a callback URL for this model: set PUBLIC_URL to offer it"
DISABLED_REASON = "KIE reported the model as disabled (code 505)"


class Catalog:
    def __init__(self, data: dict[str, Any], hidden: tuple[str, ...] = ()) -> None:
        self._data = data
        self.models: tuple[ModelSpec, ...] = tuple(model_from_entry(e) for e in data["models"])
        self.excluded: tuple[tuple[str, str], ...] = tuple(
            [(e["id"], e["reason"]) for e in data.get("excluded") or []] + [(mid, HIDDEN_REASON) for mid in hidden]
        )
        self._by_id = {m.id: m for m in self.models}
        self._by_slug = {m.slug: m for m in self.models}
        self._position = {m.id: i for i, m in enumerate(self.models)}
        # Models this deployment knows but does not offer (hidden, disabled, callback-only): see `known`.
        self._withheld = {e["id"]: e for e in data.get("withheld") or []}

    @classmethod
    def load(cls, override: Path | None = None) -> Catalog:
        """The shipped catalogue, changed by the operator's override file when one is given."""
        data = json.loads(resources.files("kiebot.catalog").joinpath("data/catalog.json").read_text("utf-8"))
        if override is None:
            return cls(data)
        path = Path(override)
        try:
            data, hidden = apply_override(data, read_override(path))
            return cls(data, hidden)
        except CatalogError as exc:
            message = str(exc)
            raise CatalogError(message if message.startswith("CATALOG_PATH") else f"CATALOG_PATH {path}: {message}") from None
        except (KeyError, TypeError, ValueError) as exc:  # a shape apply_override did not foresee
            raise CatalogError(f"CATALOG_PATH {path}: unusable entry ({type(exc).__name__}: {exc})") from None

    def without_callback_models(self) -> Catalog:
        """This catalogue for a deployment KIE cannot call back (no PUBLIC_URL): models whose API requires a
        callBackUrl are not offered."""
        return self.without({m.id for m in self.models if m.callback_required}, NEEDS_CALLBACK_REASON)

    def without(self, model_ids: set[str], reason: str) -> Catalog:
        """This catalogue with `model_ids` moved to the excluded list with `reason`."""
        if not model_ids & set(self._by_id):
            return self
        entries = self._data["models"]
        dropped = [{"id": e["id"], "reason": reason} for e in entries if e["id"] in model_ids]
        data = {**self._data, "models": [e for e in entries if e["id"] not in model_ids],
                "excluded": list(self._data.get("excluded") or []) + dropped,
                "withheld": list(self._data.get("withheld") or []) + [e for e in entries if e["id"] in model_ids]}
        return Catalog(data, tuple(mid for mid, why in self.excluded if why == HIDDEN_REASON))

    def get(self, model_id: str) -> ModelSpec | None:
        """An offered model (what new confirmations may use)."""
        return self._by_id.get(model_id)

    def known(self, model_id: str) -> ModelSpec | None:
        """Any model of this deployment, offered or not (hidden by the operator, disabled by KIE, needing a callback
        URL): what a job confirmed earlier needs to finish. Hiding a model stops new confirmations only."""
        model = self._by_id.get(model_id)
        if model is None and model_id in self._withheld:
            model = model_from_entry(self._withheld[model_id])
        return model

    def by_slug(self, slug: str) -> ModelSpec | None:
        return self._by_slug.get(slug)

    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.category for m in self.models))

    def tasks(self, category: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.task for m in self.models if m.category == category))

    def models_in(self, category: str, task: str | None = None) -> tuple[ModelSpec, ...]:
        """The models of a category (and task): pinned ones first, in pin order, then in catalogue order."""
        found = [m for m in self.models if m.category == category and (task is None or m.task == task)]
        return tuple(self.ordered(found, {}))

    def ordered(self, models: Iterable[ModelSpec], usage: Mapping[str, int]) -> list[ModelSpec]:
        """`models` pinned first (lower pin first), then by `usage` (generations per model id, most first), then in
        catalogue order; models this catalogue does not know come after the known ones with the same usage."""
        unknown = len(self._position)

        def key(model: ModelSpec) -> tuple[bool, int, int, int]:
            return (model.pin is None, model.pin or 0, -usage.get(model.id, 0), self._position.get(model.id, unknown))

        return sorted(models, key=key)

    def category_label(self, category: str, lang: str) -> str:
        return self._label("categories", category, lang)

    def task_label(self, task: str, lang: str) -> str:
        return self._label("tasks", task, lang)

    def _label(self, group: str, key: str, lang: str) -> str:
        texts = (self._data.get(group) or {}).get(key) or {}
        return texts.get(lang) or texts.get("en") or key.replace("-", " ").capitalize()
