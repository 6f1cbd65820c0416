#!/usr/bin/env python3
"""Build kiebot/catalog/data/catalog.json from KIE's model list and the translated texts.

    python scripts/build_catalog.py [--source ../shared/kie/kie-models.json] [--texts scripts/catalog_texts.json]

Offered: every market model with a price in KIE's table, then every priced model-specific ("legacy") endpoint
(Veo 3.1, Suno, Runway, 4o Image, Flux Kontext) with the family adapter and endpoints the engine calls (`api`);
the others are listed under `excluded` with the reason.
Texts fall back to English (the model title, the schema description, a label made from the field name) when
scripts/catalog_texts.json or one of its entries is missing; the script prints how many texts were missing.
Hints are keyed by the schema description, which is written for API readers: `hints_en` rewrites the ones a
Telegram user would not understand (true/false, URLs, field names…), `hints_ru` translates every one.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiebot.catalog.common import unique_slug  # noqa: E402
from kiebot.catalog.fields import is_bot_filled  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "kie" / "kie-models.json"
DEFAULT_TEXTS = ROOT / "scripts" / "catalog_texts.json"
OUTPUT = ROOT / "kiebot" / "catalog" / "data" / "catalog.json"
NO_PRICE = "no price in KIE's pricing table"
LANGS = ("en", "ru")

# Rough generation times for the progress estimate (seconds), by category and then task.
TYPICAL_SECONDS = {"image": 20, "video": 180, "audio": 30}
TYPICAL_BY_TASK = {
    "upscale": 60, "background-removal": 10, "video-extend": 120, "lip-sync": 240, "motion-control": 240,
    "speech-to-video": 240, "character-replace": 240, "audio-isolation": 20,
}

# Per-second prices whose length comes from an input file: (the file field, the most seconds we hold, why).
MEDIA_LENGTH: dict[str, tuple[str, int, str]] = {
    "infinitalk/from-audio": ("audio_url", 15, "KIE's price row says 'up to 15 seconds'"),
    "kling/ai-avatar-standard": ("audio_url", 15, "KIE's price row says 'up to 15 seconds'"),
    "kling/ai-avatar-pro": ("audio_url", 15, "KIE's price row says 'up to 15 seconds'"),
    "happyhorse/video-edit": ("video_url", 60, "the field accepts 3-60 s videos"),
    "kling-2.6/motion-control": ("video_urls", 30, "the field accepts 3-30 s videos"),
    "kling-3.0/motion-control": ("video_urls", 30, "no limit stated: default 30 s"),
    "omnihuman-1-5": ("audio_url", 60, "the field asks for audio shorter than 60 s"),
    "topaz/video-upscale": ("video_url", 30, "no limit stated: default 30 s"),
    "volcengine/video-to-video-lip-sync": ("audio_url", 240, "the audio may be 1-240 s (lite mode)"),
    "wan/2-2-animate-move": ("video_url", 30, "no limit stated (10 MB): default 30 s"),
    "wan/2-2-animate-replace": ("video_url", 30, "no limit stated (10 MB): default 30 s"),
    "wan/2-7-videoedit": ("video_url", 10, "duration 0 keeps the input length; inputs are 2-10 s"),
    "elevenlabs/audio-isolation": ("audio_url", 600, "no limit stated; 10 MB of MP3 at 128 kbit/s is about 10 min"),
}
DEFAULT_MEDIA_SECONDS = 30

# Market fields that take the KIE task id of one of the user's own earlier generations (`x-parent`, read by
# catalog/fields.py as FieldKind.TASK): {model: {field: (the models whose successful jobs are accepted, value)}}.
GROK_VIDEOS = ["grok-imagine/text-to-video", "grok-imagine/image-to-video", "grok-imagine/extend"]
MARKET_PARENTS: dict[str, dict[str, tuple[list[str], str]]] = {
    "grok-imagine/upscale": {"task_id": (GROK_VIDEOS, "task_id")},
    "grok-imagine/extend": {"task_id": (GROK_VIDEOS, "task_id")},
    # Hidden in the form (FORM_FIXES): the bot asks for images, which the Animate button fills with the result.
    "grok-imagine/image-to-video": {"task_id": (["grok-imagine/text-to-image"], "task_id")},
}

# Where the form departs from the schema as published, after reading every x-doc-issue.
# `optional`: required by the schema but only meaningful in a mode the user may not use (build_input sends []);
# `required`: the docs say it is needed although the schema does not require it; `hidden`: never asked;
# `max_items`: the docs allow fewer items than the schema.
FORM_FIXES: dict[str, dict[str, dict[str, Any]]] = {
    "kling-3.0/video": {
        "multi_prompt": {"optional": True, "reason": "only used in multi-shot mode; the schema lists it as required, so [] is sent"},
        "kling_elements": {"optional": True, "reason": "only used with @elements; the schema lists it as required, so [] is sent"},
    },
    "bytedance/seedance-2": {
        "prompt": {"required": True, "reason": "the field text calls it required; the schema has no required list"},
        "aspect_ratio": {"required": True, "reason": "the field text calls it required; the schema has no required list"},
    },
    "bytedance/seedance-2-fast": {
        "prompt": {"required": True, "reason": "the field text calls it required; the schema has no required list"},
    },
    "bytedance/seedance-2-mini": {
        "prompt": {"required": True, "reason": "the field text calls it required; the schema has no required list"},
    },
    "grok-imagine/image-to-video": {
        "image_urls": {"required": True, "reason": "either image_urls or task_id is needed; users give images"},
        "task_id": {"hidden": True, "reason": "a KIE task id of an earlier Grok image task; the bot asks for images instead"},
        "index": {"hidden": True, "reason": "only used with task_id"},
    },
    "grok-imagine/image-to-image": {
        "image_urls": {"max_items": 1, "reason": "maxItems is 5 but the field text says at most 1 URL"},
    },
}


# The model-specific APIs: which adapter (kiebot/kie/families) speaks each one, by id prefix.
FAMILIES = (("veo3.1/", "veo"), ("suno/", "suno"), ("runway-aleph/", "aleph"), ("runway/", "runway"),
            ("gpt4o-image/", "gpt4o_image"), ("flux-kontext/", "flux_kontext"))
# Jobs whose result holds Suno tracks (result["items"], each with its audioId).
SUNO_TRACKS = ["suno/generate", "suno/extend", "suno/upload-cover", "suno/upload-extend", "suno/add-instrumental",
               "suno/add-vocals", "suno/mashup", "suno/replace-section"]
VEO_VIDEOS = ["veo3.1/generate", "veo3.1/extend"]


def _parent(models: list[str], value: str) -> dict[str, Any]:
    return {"models": models, "value": value}


# Fields that hold the KIE task id (or a per-output id) of one of the user's own earlier generations
# (the contract with the "continue from a result" UI: docs/ARCHITECTURE.md).
PARENTS: dict[str, dict[str, dict[str, Any]]] = {
    "veo3.1/extend": {"taskId": _parent(VEO_VIDEOS, "task_id")},
    "veo3.1/get-1080p-video": {"taskId": _parent(["veo3.1/generate"], "task_id")},
    "veo3.1/get-4k-video": {"taskId": _parent(["veo3.1/generate"], "task_id")},
    "suno/extend": {"audioId": _parent(SUNO_TRACKS, "output_id")},
    "suno/replace-section": {"taskId": _parent(SUNO_TRACKS, "task_id"), "audioId": _parent(SUNO_TRACKS, "output_id")},
    "suno/get-timestamped-lyrics": {"taskId": _parent(SUNO_TRACKS, "task_id"),
                                    "audioId": _parent(SUNO_TRACKS, "output_id")},
    "suno/generate-persona": {"taskId": _parent(SUNO_TRACKS, "task_id"), "audioId": _parent(SUNO_TRACKS, "output_id")},
    "suno/cover-generate": {"taskId": _parent(SUNO_TRACKS, "task_id")},
    "suno/wav-generate": {"taskId": _parent(SUNO_TRACKS, "task_id"), "audioId": _parent(SUNO_TRACKS, "output_id")},
    "suno/vocal-removal": {"taskId": _parent(SUNO_TRACKS, "task_id"), "audioId": _parent(SUNO_TRACKS, "output_id")},
    "suno/midi-generate": {"taskId": _parent(["suno/vocal-removal"], "task_id"),
                           "audioId": _parent(["suno/vocal-removal"], "output_id")},
    "runway/extend": {"taskId": _parent(["runway/generate", "runway/extend"], "task_id")},
}
# Values KIE infers from other fields when they are left out, as the price rules need them.
INFERRED: dict[str, dict[str, dict[str, Any]]] = {
    "veo3.1/generate": {"generationType": {"from": "imageUrls", "empty": "TEXT_2_VIDEO",
                                           "filled": "FIRST_AND_LAST_FRAMES_2_VIDEO"}},
}
# Properties KIE documents (API.md) that the spec dump's schema lacks.
EXTRA_PROPERTIES: dict[str, dict[str, Any]] = {
    "gpt4o-image/generate": {"nVariants": {
        "type": "integer", "enum": [1, 2, 4], "default": 1, "description": "Number of images to make (1, 2 or 4)",
        "x-doc-issue": "Listed in API.md's create call; missing from the spec dump's schema."}},
}
LEGACY_FORM_FIXES: dict[str, dict[str, dict[str, Any]]] = {
    model_id: {"uploadCn": {"hidden": True, "reason": "which of KIE's storage regions holds the file: not the user's concern"}}
    for model_id in ("flux-kontext/generate", "runway-aleph/generate")
}
LEGACY_TYPICAL_SECONDS = {"text": 20, "sync": 5}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--texts", type=Path, default=DEFAULT_TEXTS)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    source = json.loads(args.source.read_text("utf-8"))
    texts = json.loads(args.texts.read_text("utf-8")) if args.texts.exists() else {}
    missing: Counter[str] = Counter()
    catalog = build(source, texts, missing)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(catalog, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"{len(catalog['models'])} models offered, {len(catalog['excluded'])} excluded → {args.output}")
    print("missing texts (English used): " + (", ".join(f"{k} {v}" for k, v in sorted(missing.items())) or "none"))
    return 0


def build(source: dict[str, Any], texts: dict[str, Any], missing: Counter[str]) -> dict[str, Any]:
    market = source["market_models"]
    legacy = source.get("legacy_apis") or []
    slugs = _slugs([m["id"] for m in market if m.get("pricing")])
    # Legacy slugs come after: a new endpoint never renames a market model's slug.
    slugs.update(_slugs([m["id"] for m in legacy if m.get("pricing")], set(slugs.values())))
    offered = [_entry(m, slugs[m["id"]], texts, missing) for m in market if m.get("pricing")]
    offered += [_legacy_entry(m, slugs[m["id"]], texts, missing) for m in legacy if m.get("pricing")]
    used_categories = dict.fromkeys(e["category"] for e in offered)
    used_tasks = dict.fromkeys(e["task"] for e in offered)
    return {
        "source": source.get("source"),
        "credit_usd": source.get("credit_usd"),
        "categories": {c: _texts_for(texts, "categories", c, c.capitalize(), missing) for c in used_categories},
        "tasks": {t: _texts_for(texts, "tasks", t, t.replace("-", " ").capitalize(), missing) for t in used_tasks},
        "models": offered,
        "excluded": [{"id": m["id"], "reason": NO_PRICE} for m in market + legacy if not m.get("pricing")],
    }


def _slugs(ids: list[str], taken: set[str] | None = None) -> dict[str, str]:
    """Slugs assigned in sorted id order, so that a new model never renames an existing one's base slug."""
    taken = set(taken or ())
    result = {}
    for model_id in sorted(ids):
        result[model_id] = unique_slug(model_id, taken)
        taken.add(result[model_id])
    return result


def _entry(model: dict[str, Any], slug: str, texts: dict[str, Any], missing: Counter[str]) -> dict[str, Any]:
    model_id, schema = model["id"], _with_parents(model["id"], model["input_schema"])
    own = (texts.get("models") or {}).get(model_id) or {}
    entry: dict[str, Any] = {
        "id": model_id,
        "slug": slug,
        "category": model["category"],
        "task": model["task"],
        "vendor": model.get("vendor") or "",
        "name": _both(own.get("name"), model.get("title_en") or model_id, missing, "model names"),
        "description": _both(own.get("description"), "", missing, "model descriptions"),
        "callback_required": bool(model.get("callback_required")),
        "typical_seconds": TYPICAL_BY_TASK.get(model["task"], TYPICAL_SECONDS.get(model["category"], 60)),
        "input_schema": schema,
        "pricing": model["pricing"],
        "texts": {"fields": _field_texts(schema, texts, missing)},
    }
    entry.update(_media_length(model))
    if model_id in FORM_FIXES:
        entry["form"] = FORM_FIXES[model_id]
    issues = _doc_issues(model)
    if issues:
        entry["doc_issues"] = issues
    return entry


def _with_parents(model_id: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with `x-parent` on the fields MARKET_PARENTS names (a copy: the source stays as KIE published it)."""
    parents = MARKET_PARENTS.get(model_id)
    if not parents:
        return schema
    schema = json.loads(json.dumps(schema))
    for name, (models, value) in parents.items():
        schema["properties"][name]["x-parent"] = {"models": models, "value": value}
    return schema


def _legacy_entry(model: dict[str, Any], slug: str, texts: dict[str, Any], missing: Counter[str]) -> dict[str, Any]:
    """A model-specific endpoint as a catalogue model: its schema is the whole request body (or the query), the
    parent fields carry `x-parent`, and `api` tells the engine which adapter calls which endpoints."""
    model_id = model["id"]
    schema = json.loads(json.dumps(model["input_schema"]))  # a copy: x-parent and extra properties go in
    for name, prop in (EXTRA_PROPERTIES.get(model_id) or {}).items():
        schema["properties"][name] = prop
        order = schema.setdefault("x-order", [])
        if name not in order:
            order.append(name)
    for name, parent in (PARENTS.get(model_id) or {}).items():
        schema["properties"][name]["x-parent"] = parent
    family = next(name for prefix, name in FAMILIES if model_id.startswith(prefix))
    entry = _entry({**model, "input_schema": schema}, slug, texts, missing)
    # The adapter sends a placeholder callback URL (and polls) when PUBLIC_URL is not set: offered everywhere.
    entry["callback_required"] = False
    entry["api"] = {
        "family": family,
        "create": model["endpoint"],
        "poll": model.get("status_endpoint"),
        "scope": "query" if model.get("x-schema-scope") == "query parameters" else "body",
    }
    if model.get("status_endpoint") is None:
        entry["typical_seconds"] = LEGACY_TYPICAL_SECONDS["sync"]
    if model_id in INFERRED:
        entry["inferred"] = INFERRED[model_id]
    if model_id in LEGACY_FORM_FIXES:
        entry["form"] = LEGACY_FORM_FIXES[model_id]
    return entry


def _media_length(model: dict[str, Any]) -> dict[str, Any]:
    props = model["input_schema"].get("properties") or {}
    per_second = any(rule["unit"] == "per second" for rule in model["pricing"])
    has_length = ("duration" in props and props["duration"].get("default") != 0) or "num_frames" in props
    if not per_second or has_length:
        return {}
    if model["id"] in MEDIA_LENGTH:
        name, seconds, why = MEDIA_LENGTH[model["id"]]
    else:  # a new model: the voice drives lip-sync-like outputs, else the video
        media = {p.get("x-media") or (p.get("items") or {}).get("x-media"): n for n, p in reversed(list(props.items()))}
        name, seconds, why = media.get("audio") or media.get("video"), DEFAULT_MEDIA_SECONDS, "default"
    return {"length_field": name, "max_media_seconds": seconds, "max_media_seconds_why": why}


def _field_texts(schema: dict[str, Any], texts: dict[str, Any], missing: Counter[str], prefix: str = "") -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if is_bot_filled(name):
            continue
        key = prefix + name
        result[key] = _one_field_texts(name, prop, texts, missing)
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        if items.get("type") == "object":
            result.update(_field_texts(items, texts, missing, prefix=key + "."))
    return result


def _one_field_texts(name: str, prop: dict[str, Any], texts: dict[str, Any], missing: Counter[str]) -> dict[str, Any]:
    description = str(prop.get("description") or "")
    hint_en = (texts.get("hints_en") or {}).get(description) or description
    hint_ru = (texts.get("hints_ru") or {}).get(description)
    if description and not hint_ru:
        missing["hints"] += 1
    out: dict[str, Any] = {
        "label": _both((texts.get("labels") or {}).get(name), name.replace("_", " ").capitalize(), missing, "labels"),
        "hint": {"en": hint_en, "ru": hint_ru or hint_en},
    }
    names = (texts.get("options") or {}).get(name) or {}
    options = {_key(v): names[_key(v)] for v in prop.get("enum") or [] if _key(v) in names}
    if options:
        out["options"] = options
    return out


def _key(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _texts_for(texts: dict[str, Any], group: str, key: str, fallback: str, missing: Counter[str]) -> dict[str, str]:
    return _both((texts.get(group) or {}).get(key), fallback, missing, group)


def _both(found: dict[str, str] | None, fallback: str, missing: Counter[str], what: str) -> dict[str, str]:
    """{"en", "ru"} with English (or the fallback) wherever a text is missing."""
    found = found or {}
    if not found.get("ru"):
        missing[what] += 1
    en = found.get("en") or fallback
    return {"en": en, "ru": found.get("ru") or en}


def _doc_issues(model: dict[str, Any]) -> dict[str, str]:
    issues = {}
    if model.get("x-doc-issue"):
        issues["(model)"] = model["x-doc-issue"]
    for name, prop in (model["input_schema"].get("properties") or {}).items():
        if prop.get("x-doc-issue"):
            issues[name] = prop["x-doc-issue"]
    return issues


if __name__ == "__main__":
    raise SystemExit(main())
