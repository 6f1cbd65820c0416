"""Prices in KIE credits (always `Decimal`), from the catalogue's price rules.

A rule `{"when": {...}, "credits": c, "unit": u}` applies when every key of `when` matches the input:
- a field key compares with the chosen value as the schema types it ("5" ≠ 5, booleans only with booleans);
  a field left out matches its schema default, or the value KIE infers for it (`ModelSpec.inferred`, e.g. Veo's
  generationType from whether images were given); without either it is unknown (see below);
- `x-video-input`: a video field (or a video inside an array of objects) is filled;
  `x-mode`: "image-to-video" when an image field is filled, else "text-to-video";
- `x-output-size` / `x-source-resolution`: known only from the result.
When something is unknown before the run the quote holds the highest matching price (`exact=False`) and
`actual_credits` settles from the result files: output size class by the longest side (≤ 2560 px → 2K,
≤ 4096 px → 4K, else 8K), source resolution by the shortest side (the smallest "NNNp" row ≥ it).

A rule of 0 credits (KIE charges nothing, e.g. Suno's cover art) quotes 0 credits: the user pays the bot's minimum
price (`user_price`).

Units: `per image` × the number of images asked for (`num_images` / `n` / `max_images` / `nVariants`, else 1);
`per request`, `per video`, `per 4 images`, `per 6 images` × 1; `per second` × the `duration` value, or
`num_frames / frames_per_second`, or the length of the input file in `ModelSpec.length_field` (whole seconds,
rounded up, capped by `max_media_seconds`; unknown → the cap); `per 1000 chars` × characters / 1000 of the `text`
field (or of every `text` of an array of objects, e.g. dialogue lines); `per megapixel` × the output megapixels from
the `image_size` preset (`SIZE_PRESETS`), else the largest of `MAX_MEGAPIXELS` and the input image (exact=False).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from kiebot.catalog.fields import FieldKind, FieldSpec
from kiebot.catalog.model import ModelSpec, same_value

# fal-style size presets used by Qwen and Ideogram `image_size` (pixels).
SIZE_PRESETS = {
    "square": (512, 512),
    "square_hd": (1024, 1024),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
MAX_MEGAPIXELS = Decimal("4.194304")  # 2048 × 2048: the hold when the output size is not chosen
DEFAULT_MEDIA_SECONDS = 30  # the hold for a per-second price driven by a file when the catalog gives no cap
MAX_CHARS = 5000  # text length assumed for the top of a price range when the schema gives no maxLength
COUNT_FIELDS = ("num_images", "n", "max_images", "nVariants")
SIZE_CLASSES = ((2560, "2K"), (4096, "4K"))  # longest side → class; above the last one: "8K"
ONE_PER_REQUEST = frozenset({"per request", "per video", "per 4 images", "per 6 images"})
_UNKNOWN = object()


@dataclass(frozen=True)
class MediaFacts:
    seconds: float | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Quote:
    credits: Decimal  # what to hold: the highest possible price when `exact` is False
    exact: bool
    unit: str


@dataclass(frozen=True)
class _Measure:
    amount: Decimal
    exact: bool


# --- public ------------------------------------------------------------------------------------
def quote(model: ModelSpec, values: dict[str, Any], media: dict[str, MediaFacts] | None = None) -> Quote | None:
    """The credits to hold for these values, or None when KIE has no price for the combination."""
    return _evaluate(model, values, media or {}, None)


def actual_credits(
    model: ModelSpec, values: dict[str, Any], media: dict[str, MediaFacts] | None, outputs: Sequence[MediaFacts]
) -> Decimal:
    """The credits to charge once the result files are known; never above the quote."""
    held = quote(model, values, media)
    if held is None:
        return Decimal(0)
    if held.exact:
        return held.credits
    settled = _evaluate(model, values, media or {}, list(outputs))
    return held.credits if settled is None else min(held.credits, settled.credits)


def user_price(credits: Decimal, markup: Decimal | int | str) -> int:
    """What the user pays in the bot's unit: credits × markup rounded up, at least 1."""
    price = (Decimal(str(credits)) * Decimal(str(markup))).to_integral_value(rounding=ROUND_CEILING)
    return max(1, int(price))


def price_range(model: ModelSpec, markup: Decimal | int | str) -> tuple[int, int]:
    """(lowest, highest) user price over what the form can produce; (0, 0) for a model without prices."""
    lows, highs = [], []
    for rule in model.pricing:
        low, high = _measure_range(model, rule["unit"])
        lows.append(credits_of(rule) * low)
        highs.append(credits_of(rule) * high)
    if not lows:
        return 0, 0
    return user_price(min(lows), markup), user_price(max(highs), markup)


def offered_options(model: ModelSpec, field: FieldSpec | str, values: dict[str, Any]) -> tuple[Any, ...]:
    """The options of a choice (or yes/no) that still leave a priced combination.

    Fields already passed in the form and left out count with their default; fields still ahead are free.
    """
    spec = field if isinstance(field, FieldSpec) else model.field(field)
    options = (True, False) if spec.kind is FieldKind.BOOL else tuple(spec.options)
    if not options:
        return ()
    fixed = _fixed_for(model, spec.name, values)
    return tuple(o for o in options if any(_could_match(r, {**fixed, spec.name: o}) for r in model.pricing))


def credits_of(rule: dict[str, Any]) -> Decimal:
    return Decimal(str(rule["credits"]))


# --- evaluation ----------------------------------------------------------------------------------
def _evaluate(
    model: ModelSpec, values: dict[str, Any], media: dict[str, MediaFacts], outputs: list[MediaFacts] | None
) -> Quote | None:
    priced: list[tuple[Decimal, bool, str]] = []
    free = True  # every matching rule is of 0 credits
    for rule in model.pricing:
        match = _match(model, rule, values, media, outputs)
        if match is None:
            continue
        free = free and credits_of(rule) == 0
        measure = _measure(model, rule["unit"], values, media, outputs)
        priced.append((credits_of(rule) * measure.amount, match and measure.exact, rule["unit"]))
    if not priced:
        return None
    credits, _, unit = max(priced, key=lambda p: p[0])
    if credits <= 0 and not free:
        return None  # nothing to price yet (e.g. an empty text)
    exact = all(p[1] for p in priced) and len({p[0] for p in priced}) == 1
    return Quote(credits, exact, unit)


def _match(
    model: ModelSpec, rule: dict[str, Any], values: dict[str, Any], media: dict[str, MediaFacts], outputs: list[MediaFacts] | None
) -> bool | None:
    """None: the rule does not apply; True: it applies; False: it may apply (a condition is unknown)."""
    certain = True
    for key, wanted in (rule.get("when") or {}).items():
        value = _condition(model, key, wanted, values, media, outputs)
        if value is _UNKNOWN:
            certain = False
        elif not same_value(wanted, value):
            return None
    return certain


def _condition(
    model: ModelSpec, key: str, wanted: Any, values: dict[str, Any], media: dict[str, MediaFacts], outputs: list[MediaFacts] | None
) -> Any:
    if key == "x-video-input":
        return _has_media(model, values, "video")
    if key == "x-mode":
        return "image-to-video" if _has_media(model, values, "image") else "text-to-video"
    if key == "x-output-size":
        return _output_size_class(outputs) if outputs else _UNKNOWN
    if key == "x-source-resolution":
        return _source_resolution(model, key, outputs) if outputs else _UNKNOWN
    if key.startswith("x-"):
        return _UNKNOWN
    return _value(model, key, values)


def _value(model: ModelSpec, name: str, values: dict[str, Any]) -> Any:
    if name in values and values[name] is not None:
        return values[name]
    prop = (model.schema.get("properties") or {}).get(name) or {}
    if "default" in prop:
        return prop["default"]
    rule = model.inferred.get(name)
    if rule is not None:  # KIE picks it from another field (Veo's mode from whether images were given)
        return rule["filled"] if values.get(rule["from"]) else rule["empty"]
    return _UNKNOWN


def _has_media(model: ModelSpec, values: dict[str, Any], kind: str) -> bool:
    props = model.schema.get("properties") or {}
    for name, prop in props.items():
        value = values.get(name)
        if not value:
            continue
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        if kind in (prop.get("x-media"), items.get("x-media")):
            return True
        inner = items.get("properties") or {}
        if isinstance(value, list) and any(
            isinstance(item, dict) and item.get(k) for item in value for k, p in inner.items() if p.get("x-media") == kind
        ):
            return True
    return False


def _output_size_class(outputs: list[MediaFacts]) -> Any:
    sides = [max(o.width, o.height) for o in outputs if o.width and o.height]
    if not sides:
        return _UNKNOWN
    longest = max(sides)
    return next((name for limit, name in SIZE_CLASSES if longest <= limit), "8K")


def _source_resolution(model: ModelSpec, key: str, outputs: list[MediaFacts]) -> Any:
    sides = [min(o.width, o.height) for o in outputs if o.width and o.height]
    classes = sorted({r["when"][key] for r in model.pricing if key in (r.get("when") or {})}, key=_pixels)
    if not sides or not classes:
        return _UNKNOWN
    short = max(sides)
    return next((c for c in classes if _pixels(c) >= short), classes[-1])


def _pixels(resolution: str) -> int:
    digits = "".join(ch for ch in str(resolution) if ch.isdigit())
    return int(digits) if digits else 0


# --- what a unit multiplies ---------------------------------------------------------------------------
def _measure(
    model: ModelSpec, unit: str, values: dict[str, Any], media: dict[str, MediaFacts], outputs: list[MediaFacts] | None
) -> _Measure:
    if unit == "per image":
        return _image_count(model, values, outputs)
    if unit == "per second":
        return _seconds(model, values, media, outputs)
    if unit == "per 1000 chars":
        return _Measure(Decimal(_chars(model, values)) / 1000, True)
    if unit == "per megapixel":
        return _megapixels(model, values, media, outputs)
    return _Measure(Decimal(1), True)


def _count_field(model: ModelSpec) -> tuple[str, dict[str, Any]] | None:
    props = model.schema.get("properties") or {}
    return next(((n, props[n]) for n in COUNT_FIELDS if n in props), None)


def _image_count(model: ModelSpec, values: dict[str, Any], outputs: list[MediaFacts] | None) -> _Measure:
    found = _count_field(model)
    if found is None:
        return _Measure(Decimal(1), True)
    name, prop = found
    value = _value(model, name, values)
    if value is not _UNKNOWN:
        return _Measure(Decimal(str(value)), True)
    if outputs:  # KIE picked the number itself: charge what came back, within the hold
        return _Measure(min(Decimal(len(outputs)), _highest(prop)), True)
    return _Measure(_highest(prop), False)


def _highest(prop: dict[str, Any]) -> Decimal:
    if prop.get("enum"):
        return max(Decimal(str(v)) for v in prop["enum"])
    return Decimal(str(prop.get("maximum", 1)))


def _lowest(prop: dict[str, Any]) -> Decimal:
    if prop.get("enum"):
        return min(Decimal(str(v)) for v in prop["enum"])
    return Decimal(str(prop.get("minimum", 1)))


def _seconds(
    model: ModelSpec, values: dict[str, Any], media: dict[str, MediaFacts], outputs: list[MediaFacts] | None
) -> _Measure:
    props = model.schema.get("properties") or {}
    if "duration" in props:
        value = _value(model, "duration", values)
        if value is not _UNKNOWN and Decimal(str(value)) > 0:
            return _Measure(Decimal(str(value)), True)
        if value is _UNKNOWN and not model.length_field:  # KIE's own default: hold the longest
            return _from_outputs(_highest(props["duration"]), outputs)
    if "num_frames" in props and "frames_per_second" in props:
        frames, fps = _value(model, "num_frames", values), _value(model, "frames_per_second", values)
        if frames is not _UNKNOWN and fps is not _UNKNOWN and Decimal(str(fps)) > 0:
            return _Measure(_ceil(Decimal(str(frames)) / Decimal(str(fps))), True)
    cap = Decimal(model.max_media_seconds or DEFAULT_MEDIA_SECONDS)
    facts = media.get(model.length_field or "")
    if facts is not None and facts.seconds:
        return _Measure(min(_ceil(Decimal(str(facts.seconds))), cap), True)
    return _from_outputs(cap, outputs)


def _from_outputs(cap: Decimal, outputs: list[MediaFacts] | None) -> _Measure:
    """An unknown length: hold `cap`; once the result is known, its length (rounded up) within the cap."""
    lengths = [Decimal(str(o.seconds)) for o in outputs or [] if o.seconds]
    if lengths:
        return _Measure(min(_ceil(max(lengths)), cap), True)
    return _Measure(cap, False)


def _ceil(value: Decimal) -> Decimal:
    return value.to_integral_value(rounding=ROUND_CEILING)


def _chars(model: ModelSpec, values: dict[str, Any]) -> int:
    """Characters KIE bills: the `text` field, or the `text` of every object of an array (dialogue lines)."""
    total = 0
    for name, value in values.items():
        if name == "text" and isinstance(value, str):
            total += len(value)
        elif isinstance(value, list):
            total += sum(len(item.get("text") or "") for item in value if isinstance(item, dict))
    return total


def _megapixels(
    model: ModelSpec, values: dict[str, Any], media: dict[str, MediaFacts], outputs: list[MediaFacts] | None
) -> _Measure:
    if outputs and all(o.width and o.height for o in outputs):
        return _Measure(sum(Decimal(o.width * o.height) for o in outputs) / 1_000_000, True)  # type: ignore[operator]
    count = _image_count(model, values, None)
    size = _value(model, "image_size", values)
    if size in SIZE_PRESETS:
        width, height = SIZE_PRESETS[size]
        return _Measure(Decimal(width * height) / 1_000_000 * count.amount, count.exact)
    inputs = [Decimal(f.width * f.height) / 1_000_000 for f in media.values() if f.width and f.height]
    return _Measure(max([MAX_MEGAPIXELS, *inputs]) * count.amount, False)


# --- ranges and offered options ---------------------------------------------------------------------
def _measure_range(model: ModelSpec, unit: str) -> tuple[Decimal, Decimal]:
    props = model.schema.get("properties") or {}
    counts = _count_field(model)
    count = (_lowest(counts[1]), _highest(counts[1])) if counts else (Decimal(1), Decimal(1))
    if unit == "per image":
        return count
    if unit == "per second":
        return _seconds_range(model, props)
    if unit == "per 1000 chars":
        return Decimal(1) / 1000, Decimal(_max_chars(props)) / 1000
    if unit == "per megapixel":
        sizes = props.get("image_size", {}).get("enum") or []
        pixels = [Decimal(w * h) / 1_000_000 for s, (w, h) in SIZE_PRESETS.items() if s in sizes]
        low, high = (min(pixels), max(pixels)) if pixels else (Decimal("0.25"), MAX_MEGAPIXELS)
        return low * count[0], high * count[1]
    return Decimal(1), Decimal(1)


def _seconds_range(model: ModelSpec, props: dict[str, Any]) -> tuple[Decimal, Decimal]:
    if "duration" in props and not model.length_field:
        return max(_lowest(props["duration"]), Decimal(1)), _highest(props["duration"])
    if "num_frames" in props and "frames_per_second" in props:
        frames, fps = props["num_frames"], props["frames_per_second"]
        return _ceil(_lowest(frames) / _highest(fps)), _ceil(_highest(frames) / _lowest(fps))
    return Decimal(1), Decimal(model.max_media_seconds or DEFAULT_MEDIA_SECONDS)


def _max_chars(props: dict[str, Any]) -> int:
    text = props.get("text") or {}
    return int(text.get("maxLength") or MAX_CHARS)


def _fixed_for(model: ModelSpec, name: str, values: dict[str, Any]) -> dict[str, Any]:
    order = [f.name for f in model.fields]
    passed = set(order[: order.index(name)]) if name in order else set(order)
    fixed = {k: v for k, v in values.items() if k != name and v is not None}
    for other in passed - set(fixed):
        value = _value(model, other, values)
        if value is not _UNKNOWN:
            fixed[other] = value
    return fixed


def _could_match(rule: dict[str, Any], assignment: dict[str, Any]) -> bool:
    return all(
        key.startswith("x-") or key not in assignment or same_value(wanted, assignment[key])
        for key, wanted in (rule.get("when") or {}).items()
    )

