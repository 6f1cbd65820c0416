"""The shipped catalogue, its fields and the operator override file."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from kiebot.catalog import Catalog, CatalogError, FieldKind, form, pricing

DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def sample_value(spec):
    """A simple valid answer for a field (test-only filler)."""
    kind = spec.kind
    if spec.has_default and spec.default is not None and kind is not FieldKind.FILES:
        return spec.default
    if kind is FieldKind.CHOICE:
        return spec.options[0]
    if kind is FieldKind.BOOL:
        return False
    if kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        return spec.minimum if spec.minimum is not None else 1
    if kind is FieldKind.TEXT:
        if spec.pattern:
            return "#A1B2C3" if "#" in spec.pattern else "12.50%"
        return "a cat on a sofa"[: spec.max_length or 100].ljust(spec.min_length or 0, "x")
    if kind is FieldKind.FILE:
        return "https://tempfile.redpandaai.co/kieai/in/file.png"
    if kind is FieldKind.FILES:
        return ["https://tempfile.redpandaai.co/kieai/in/file.png"] * max(spec.min_items or 1, 1)
    if kind is FieldKind.TEXTS:
        return ["one"]
    if kind is FieldKind.TASK:  # an earlier task's id, as the bot fills it from the user's own generation
        return "task_grok_1765178608584"
    if kind is FieldKind.OBJECTS:
        return [{f.name: sample_value(f) for f in spec.item_fields if f.required}] * max(spec.min_items or 1, 1)
    return None


def filled(model) -> dict:
    return {f.name: sample_value(f) for f in model.fields if f.required}


def test_offered_and_excluded(catalog: Catalog) -> None:
    assert len(catalog.models) == 98 + 24  # market models, then the priced model-specific endpoints
    assert len(catalog.excluded) == 12 + 3
    assert {"runway/extend", "gemini-omni/audio-create", "gemini-omni/character-create"} <= {
        mid for mid, _ in catalog.excluded}
    assert all(reason == "no price in KIE's pricing table" for _, reason in catalog.excluded)
    assert "bytedance/seedream" in {mid for mid, _ in catalog.excluded}
    assert catalog.get("bytedance/seedream") is None


def test_slugs_are_unique_short_and_fit_deep_links(catalog: Catalog) -> None:
    slugs = [m.slug for m in catalog.models]
    assert len(set(slugs)) == len(slugs)
    for model in catalog.models:
        assert len(model.slug) <= 40 and DEEP_LINK.match("m_" + model.slug), model.slug
        assert catalog.by_slug(model.slug) is model
    assert catalog.get("kling-2.6/text-to-video").slug == "kling-2_6-t2v"
    assert catalog.get("google/nano-banana-edit").slug == "google-nano-banana-edit"


def test_every_model_is_complete(catalog: Catalog) -> None:
    for model in catalog.models:
        assert model.pricing, model.id
        assert model.name("ru") and model.name("en")
        assert model.typical_seconds > 0
        assert model.category in catalog.categories()
        assert model.task in catalog.tasks(model.category)
        required = [f.required for f in model.fields]
        assert required == sorted(required, reverse=True), f"{model.id}: required fields first"


def test_navigation_and_labels(catalog: Catalog) -> None:
    assert catalog.categories() == ("image", "video", "audio")
    assert catalog.category_label("image", "ru") == "Изображения"
    assert "text-to-speech" in catalog.tasks("audio")
    assert all(m.category == "audio" for m in catalog.models_in("audio"))
    assert {m.id for m in catalog.models_in("audio", "text-to-speech")} == {
        "elevenlabs/text-to-speech-turbo-2-5", "elevenlabs/text-to-speech-multilingual-v2"}
    assert catalog.task_label("text-to-image", "en")


def test_field_kinds_of_known_models(catalog: Catalog) -> None:
    flux = catalog.get("flux-2/pro-image-to-image")
    assert [f.name for f in flux.fields] == ["input_urls", "prompt", "aspect_ratio", "resolution", "nsfw_checker"]
    urls = flux.field("input_urls")
    assert (urls.kind, urls.media, urls.min_items, urls.max_items) == (FieldKind.FILES, "image", 1, 8)
    prompt = flux.field("prompt")
    assert (prompt.kind, prompt.min_length, prompt.max_length) == (FieldKind.TEXT, 3, 5000)
    assert flux.field("nsfw_checker").kind is FieldKind.BOOL

    kling = catalog.get("kling-2.6/text-to-video")
    duration = kling.field("duration")
    assert duration.kind is FieldKind.CHOICE and duration.options == ("5", "10")  # strings, as the schema says
    assert duration.default == "5" and duration.has_default

    seedance = catalog.get("bytedance/seedance-2")
    sd = seedance.field("duration")
    assert (sd.kind, sd.minimum, sd.maximum, sd.default) == (FieldKind.INTEGER, 4, 15, 5)
    assert 3 <= len(sd.presets) <= 6 and 5 in sd.presets and all(4 <= p <= 15 for p in sd.presets)
    assert seedance.field("prompt").required  # the docs call it required (x-doc-issue)

    wan = catalog.get("wan/2-7-image")
    assert wan.field("color_palette").kind is FieldKind.OBJECTS
    assert [f.name for f in wan.field("color_palette").item_fields] == ["hex", "ratio"]
    assert wan.field("bbox_list").kind is FieldKind.JSON
    assert catalog.get("gemini-omni-video").field("audio_ids").kind is FieldKind.TEXTS
    assert catalog.get("ideogram/character-remix").field("reference_mask_urls").kind is FieldKind.FILE

    dialogue = catalog.get("elevenlabs/text-to-dialogue-v3").field("dialogue")
    voice = next(f for f in dialogue.item_fields if f.name == "voice")
    assert voice.option_label("EkK5I93UQWFDigLMpZcX", "en") == "James"  # from x-enum-names
    stability = catalog.get("elevenlabs/text-to-dialogue-v3").field("stability")
    assert stability.options == (0, 0.5, 1)


def test_deprecated_and_doc_issue_fields(catalog: Catalog) -> None:
    assert not catalog.get("google/nano-banana").has_field("image_size")  # deprecated twin of aspect_ratio
    grok = catalog.get("grok-imagine/image-to-video")
    assert grok.field("image_urls").required and not grok.has_field("task_id")
    assert catalog.get("grok-imagine/image-to-image").field("image_urls").max_items == 1
    kling3 = catalog.get("kling-3.0/video")
    assert not kling3.field("multi_prompt").required and not kling3.field("kling_elements").required
    assert "multi-shot" in kling3.notes["multi_prompt"]


def test_labels_hints_and_options_fall_back(catalog: Catalog) -> None:
    flux = catalog.get("flux-2/pro-text-to-image")
    ratio = flux.field("aspect_ratio")
    assert ratio.label("ru") == "Соотношение сторон"
    assert ratio.hint("en") == "Width:height ratio of the output image"
    assert ratio.option_label("16:9", "ru") == "16:9"  # no name: the value itself
    assert catalog.get("gpt-image-2-text-to-image").field("aspect_ratio").option_label("auto", "ru") == "Авто"


def test_every_model_builds_valid_input_from_required_answers(catalog: Catalog) -> None:
    for model in catalog.models:
        sent = form.build_input(model, filled(model))
        assert form.validate_input(model, sent) == [], model.id


def test_kling3_sends_empty_lists_the_schema_requires(catalog: Catalog) -> None:
    model = catalog.get("kling-3.0/video")
    sent = form.build_input(model, {"prompt": "a fox", "sound": False, "duration": "5", "aspect_ratio": "16:9",
                                    "mode": "std", "multi_shots": False})
    assert sent["multi_prompt"] == [] and sent["kling_elements"] == []
    assert form.validate_input(model, sent) == []
    del sent["multi_prompt"]
    assert form.validate_input(model, sent)  # the schema as published does require it


def test_every_model_has_a_price_for_its_default_form(catalog: Catalog) -> None:
    for model in catalog.models:
        values = filled(model)
        got = pricing.quote(model, values)
        free_at_kie = all(pricing.credits_of(rule) == 0 for rule in model.pricing)  # e.g. Suno's cover art
        assert got is not None and (got.credits > 0 or free_at_kie), model.id
        low, high = pricing.price_range(model, Decimal(2))
        assert 1 <= low <= pricing.user_price(got.credits, 2) <= high, model.id


def test_choices_of_every_model_keep_a_price(catalog: Catalog) -> None:
    for model in catalog.models:
        for spec in model.fields:
            if spec.kind is FieldKind.CHOICE:
                offered = pricing.offered_options(model, spec, {})
                assert offered, (model.id, spec.name)
                if spec.has_default and any(r["when"].get(spec.name) for r in model.pricing):
                    assert spec.default in offered, (model.id, spec.name)


# --- override file -----------------------------------------------------------------------------------
def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, "utf-8")
    return path


def test_override_hides_a_model(tmp_path: Path) -> None:
    cat = Catalog.load(write(tmp_path, {"models": {"z-image": {"hidden": True}}}))
    assert cat.get("z-image") is None and len(cat.models) == 98 + 24 - 1
    assert ("z-image", "hidden by CATALOG_PATH") in cat.excluded


def test_override_reprices_and_renames(tmp_path: Path) -> None:
    cat = Catalog.load(write(tmp_path, {"models": {
        "flux-2/pro-text-to-image": {"pricing": [{"when": {}, "credits": 9, "unit": "per image"}],
                                     "name": {"en": "Flux", "ru": "Флюкс"}, "description": "Fast"},
        "z-image": {"credits_multiplier": 1.5},
    }}))
    flux = cat.get("flux-2/pro-text-to-image")
    assert pricing.quote(flux, {"resolution": "1K"}).credits == 9
    assert flux.name("ru") == "Флюкс" and flux.description("ru") == "Fast"
    assert pricing.quote(cat.get("z-image"), {}).credits == Decimal("1.2")  # 0.8 × 1.5


def test_override_adds_a_model(tmp_path: Path) -> None:
    cat = Catalog.load(write(tmp_path, {"models": {"acme/painter": {
        "category": "image", "task": "text-to-image", "name": "Acme Painter",
        "input_schema": {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string"}}},
        "pricing": [{"when": {}, "credits": 3, "unit": "per image"}],
    }}}))
    model = cat.get("acme/painter")
    assert model is not None and model.slug == "acme-painter" and cat.by_slug("acme-painter") is model
    assert model.field("prompt").kind is FieldKind.TEXT and model.field("prompt").required
    assert pricing.quote(model, {"prompt": "x"}).credits == 3
    assert model in cat.models_in("image", "text-to-image")


@pytest.mark.parametrize(
    "content, problem",
    [
        ("{not json", "not valid JSON"),
        ([], "top level must be an object"),
        ({"modles": {}}, "unknown top-level keys"),
        ({"models": {"z-image": {"hiden": True}}}, "model z-image: unknown keys"),
        ({"models": {"z-image": {"credits_multiplier": 0}}}, "credits_multiplier"),
        ({"models": {"z-image": {"pricing": [{"credits": 1, "unit": "per banana"}]}}}, "unit must be one of"),
        ({"models": {"acme/x": {"category": "image"}}}, "model acme/x: not in the shipped catalogue"),
        ({"models": {"acme/x": {"category": "image", "task": "t", "pricing": [{"credits": 1, "unit": "per image"}],
                                "input_schema": {"type": "object", "properties": {"a": {"type": "strin"}}}}}},
         "not a valid JSON Schema"),
    ],
)
def test_invalid_override_names_the_problem(tmp_path: Path, content, problem: str) -> None:
    with pytest.raises(CatalogError) as error:
        Catalog.load(write(tmp_path, content))
    assert problem in str(error.value)
    assert "catalog.json" in str(error.value)


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="file not found"):
        Catalog.load(tmp_path / "nope.json")


def test_the_shipped_catalogue_is_what_the_build_script_makes(tmp_path) -> None:
    """The committed data/catalog.json never drifts from KIE's spec dump and the texts file."""
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    source = root.parent / "shared" / "kie" / "kie-models.json"
    if not source.exists():
        pytest.skip(f"KIE's spec dump is not beside the repository ({source})")
    spec = importlib.util.spec_from_file_location("build_catalog", root / "scripts" / "build_catalog.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    output = tmp_path / "catalog.json"
    assert builder.main(["--source", str(source), "--output", str(output)]) == 0
    shipped = json.loads((root / "kiebot" / "catalog" / "data" / "catalog.json").read_text("utf-8"))
    assert json.loads(output.read_text("utf-8")) == shipped
