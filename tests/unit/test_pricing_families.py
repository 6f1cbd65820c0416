"""Prices of the model-specific endpoints, worked by hand from KIE's table (`legacy_apis[].pricing`): credits, and the
user's price at a markup of 2 (credits × 2, rounded up, at least 1 💎)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kiebot.catalog import Catalog
from kiebot.catalog.pricing import offered_options, price_range, quote, user_price

CATALOG = Catalog.load()
IMAGE = ["https://kie.example/in.png"]


def credits(model_id: str, values: dict[str, Any]) -> Decimal | None:
    model = CATALOG.get(model_id)
    assert model is not None
    got = quote(model, values)
    return None if got is None else got.credits


@pytest.mark.parametrize(("model_id", "values", "expected"), [
    # Veo 3.1: the mode KIE infers from the images decides the row (no images: text-to-video).
    ("veo3.1/generate", {"prompt": "x"}, "60"),  # defaults: veo3_fast, 720p, text-to-video
    ("veo3.1/generate", {"prompt": "x", "model": "veo3", "resolution": "1080p"}, "255"),
    ("veo3.1/generate", {"prompt": "x", "model": "veo3", "resolution": "4k", "imageUrls": IMAGE}, "370"),
    ("veo3.1/generate", {"prompt": "x", "model": "veo3_lite", "resolution": "1080p", "imageUrls": IMAGE}, "35"),
    ("veo3.1/generate", {"prompt": "x", "model": "veo3_fast", "resolution": "4k",
                         "generationType": "REFERENCE_2_VIDEO", "imageUrls": IMAGE}, "180"),
    # As published: image-to-video Lite-4K is $0.15 (30 credits), likely a typo in KIE's table (text: $0.75).
    ("veo3.1/generate", {"prompt": "x", "model": "veo3_lite", "resolution": "4k", "imageUrls": IMAGE}, "30"),
    ("veo3.1/extend", {"taskId": "t", "prompt": "x"}, "60"),  # default: fast
    ("veo3.1/extend", {"taskId": "t", "prompt": "x", "model": "quality"}, "250"),
    ("veo3.1/extend", {"taskId": "t", "prompt": "x", "model": "lite"}, "30"),
    ("veo3.1/get-1080p-video", {"taskId": "t"}, "5"),
    ("veo3.1/get-4k-video", {"taskId": "t"}, "120"),
    # Suno: per request.
    ("suno/generate", {"prompt": "x", "customMode": False, "instrumental": True, "model": "V5"}, "12"),
    ("suno/replace-section", {"taskId": "t"}, "5"),
    ("suno/get-timestamped-lyrics", {"taskId": "t", "audioId": "a"}, "0.5"),
    ("suno/style-boost", {"content": "pop"}, "0.4"),
    ("suno/lyrics", {"prompt": "sea"}, "0.4"),
    ("suno/wav-generate", {"taskId": "t", "audioId": "a"}, "0.4"),
    ("suno/vocal-removal", {"taskId": "t", "audioId": "a"}, "10"),  # default: vocals + accompaniment
    ("suno/vocal-removal", {"taskId": "t", "audioId": "a", "type": "split_stem"}, "50"),
    ("suno/cover-generate", {"taskId": "t"}, "0"),  # free at KIE
    # 4o Image: per image × the variants asked for.
    ("gpt4o-image/generate", {"size": "1:1"}, "6"),
    ("gpt4o-image/generate", {"size": "1:1", "nVariants": 4}, "24"),
    ("flux-kontext/generate", {"prompt": "x"}, "5"),  # default: pro
    ("flux-kontext/generate", {"prompt": "x", "model": "flux-kontext-max"}, "10"),
    # Runway: by length, quality and whether an image is animated.
    ("runway/generate", {"prompt": "x", "duration": 5, "quality": "720p"}, "12"),
    ("runway/generate", {"prompt": "x", "duration": 10, "quality": "720p"}, "30"),
    ("runway/generate", {"prompt": "x", "duration": 5, "quality": "1080p", "imageUrl": IMAGE[0]}, "30"),
    ("runway/generate", {"prompt": "x", "duration": 10, "quality": "1080p"}, None),  # not offered by KIE
    ("runway-aleph/generate", {"prompt": "x", "videoUrl": "https://kie.example/v.mp4"}, "110"),
])
def test_credits(model_id: str, values: dict[str, Any], expected: str | None) -> None:
    assert credits(model_id, values) == (None if expected is None else Decimal(expected))


@pytest.mark.parametrize(("credit", "price"), [("12", 24), ("0.4", 1), ("0.5", 1), ("0", 1), ("255", 510)])
def test_user_price_at_markup_2(credit: str, price: int) -> None:
    assert user_price(Decimal(credit), 2) == price


def test_only_priced_choices_are_offered() -> None:
    runway = CATALOG.get("runway/generate")
    veo = CATALOG.get("veo3.1/generate")
    assert runway is not None and veo is not None
    assert offered_options(runway, "quality", {"prompt": "x", "duration": 10}) == ("720p",)
    assert "REFERENCE_2_VIDEO" not in offered_options(veo, "generationType", {"prompt": "x", "model": "veo3"})
    assert "REFERENCE_2_VIDEO" in offered_options(veo, "generationType", {"prompt": "x", "model": "veo3_lite"})


@pytest.mark.parametrize(("model_id", "low", "high"), [
    ("veo3.1/generate", 60, 740), ("suno/generate", 24, 24), ("suno/vocal-removal", 20, 100),
    ("gpt4o-image/generate", 12, 48), ("runway/generate", 24, 60), ("suno/cover-generate", 1, 1),
])
def test_price_ranges_listed_by_the_catalogue(model_id: str, low: int, high: int) -> None:
    model = CATALOG.get(model_id)
    assert model is not None
    assert price_range(model, 2) == (low, high)
