"""Model specs for the KIE emulator: input schemas, output kind and a loose price, from either catalogue file.

Two shapes are accepted: the shipped catalogue (`kiebot/catalog/data/catalog.json`, `models[]`) and the raw
spec dump (`../shared/kie/kie-models.json`, `market_models[]`); each model needs `id` and `input_schema`
(or `schema`).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

log = logging.getLogger("kiebot.kie.emulator")

_PACKAGE_CATALOG = Path(__file__).resolve().parents[1] / "catalog" / "data" / "catalog.json"
_SHARED_SPECS = Path(__file__).resolve().parents[3] / "shared" / "kie" / "kie-models.json"


@dataclass(frozen=True)
class EmuModel:
    id: str
    category: str  # image | video | audio
    schema: dict[str, Any]
    callback_required: bool = False
    pricing: tuple[dict[str, Any], ...] = ()
    api: dict[str, Any] = field(default_factory=dict)  # model-specific endpoints (family, create, poll, scope)
    _validator: Draft202012Validator | None = field(default=None, compare=False, repr=False)

    def validate(self, input: Any) -> str | None:
        """A readable reason the input is refused, or None when it is valid."""
        validator = self._validator or Draft202012Validator(self.schema)
        errors = sorted(validator.iter_errors(input), key=lambda e: list(e.absolute_path))
        if not errors:
            return None
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "input"
        return f"{where}: {first.message}"

    def price(self, input: dict[str, Any]) -> Decimal:
        """Credits of the first pricing rule whose plain conditions all match the input, else 1."""
        for rule in self.pricing:
            when = {k: v for k, v in (rule.get("when") or {}).items() if not k.startswith("x-")}
            if all(str(input.get(k)) == str(v) for k, v in when.items()):
                try:
                    return Decimal(str(rule.get("credits", 1)))
                except ArithmeticError:
                    break
        return Decimal(1)


def default_models_path() -> Path | None:
    for path in (_PACKAGE_CATALOG, _SHARED_SPECS):
        if path.is_file():
            return path
    return None


def load_models(path: Path | None = None) -> dict[str, EmuModel]:
    """Load model specs; with no path, the shipped catalogue, falling back to the shared spec dump."""
    candidates = [path] if path is not None else [p for p in (_PACKAGE_CATALOG, _SHARED_SPECS) if p.is_file()]
    for candidate in candidates:
        try:
            models = _parse(json.loads(candidate.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            if path is not None:
                raise
            log.warning("emulator: cannot read models from %s (%s)", candidate, exc)
            continue
        if models or path is not None:
            log.info("emulator: %d models from %s", len(models), candidate)
            return models
    log.warning("emulator: no model catalogue found; every createTask will be refused")
    return {}


def _parse(doc: Any) -> dict[str, EmuModel]:
    entries = (doc.get("models") or doc.get("market_models") or []) if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and "market_models" in doc and "models" not in doc:  # the raw dump: the legacy too
        entries = list(entries) + [_legacy_api(e) for e in doc.get("legacy_apis") or [] if isinstance(e, dict)]
    models: dict[str, EmuModel] = {}
    for entry in entries if isinstance(entries, list) else []:
        model = _model(entry)
        if model is not None:
            models[model.id] = model
    return models


def _model(entry: Any) -> EmuModel | None:
    if not isinstance(entry, dict) or not entry.get("id"):
        return None
    schema = entry.get("input_schema") or entry.get("schema")
    if not isinstance(schema, dict):
        return None
    model_id = str(entry["id"])
    return EmuModel(
        id=model_id,
        category=str(entry.get("category") or guess_category(model_id)),
        schema=schema,
        callback_required=bool(entry.get("callback_required")),
        pricing=tuple(rule for rule in entry.get("pricing") or () if isinstance(rule, dict)),
        api=dict(entry.get("api") or {}),
        _validator=Draft202012Validator(schema),
    )


def _legacy_api(entry: dict[str, Any]) -> dict[str, Any]:
    """A `legacy_apis` entry of the raw dump with the `api` the catalogue builder gives it."""
    family = next((name for prefix, name in (("veo", "veo"), ("suno", "suno"), ("runway-aleph", "aleph"),
                   ("runway", "runway"), ("gpt4o", "gpt4o_image"), ("flux", "flux_kontext")) if entry["id"].startswith(prefix)), "")
    scope = "query" if entry.get("x-schema-scope") == "query parameters" else "body"
    return {**entry, "api": {"family": family, "create": entry.get("endpoint"), "poll": entry.get("status_endpoint"),
                             "scope": scope}}


def guess_category(model_id: str) -> str:
    lowered = model_id.lower()
    if any(word in lowered for word in ("video", "sora", "kling", "veo", "hailuo", "seedance", "wan/")):
        return "video"
    if any(word in lowered for word in ("speech", "audio", "elevenlabs", "suno", "dialogue")):
        return "audio"
    return "image"
