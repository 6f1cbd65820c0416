"""Prices worked out by hand from KIE's table (the arithmetic is in the comments)."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiebot.catalog import Catalog, FieldKind
from kiebot.catalog.pricing import (
    MediaFacts,
    Quote,
    actual_credits,
    credits_of,
    offered_options,
    price_range,
    quote,
    user_price,
)

CATALOG = Catalog.load()
URL = "https://tempfile.redpandaai.co/kieai/in/file"


def m(model_id: str):
    return CATALOG.get(model_id)


def price(model_id: str, values: dict, markup, media=None) -> int:
    got = quote(m(model_id), values, media)
    assert got is not None
    return user_price(got.credits, markup)


# --- one model of every unit ---------------------------------------------------------------------------
def test_per_image() -> None:
    # flux-2 pro 2K: 7 credits × 1 image × markup 2 = 14
    assert quote(m("flux-2/pro-text-to-image"), {"resolution": "2K"}) == Quote(Decimal(7), True, "per image")
    assert price("flux-2/pro-text-to-image", {"resolution": "2K"}, 2) == 14
    # ideogram character QUALITY, num_images "3": 24 × 3 = 72 credits × 2 = 144
    assert price("ideogram/character", {"rendering_speed": "QUALITY", "num_images": "3"}, 2) == 144
    # defaults BALANCED and num_images "1": 18 × 1 = 18
    assert quote(m("ideogram/character"), {}).credits == 18


def test_per_second_with_duration() -> None:
    # seedance 2, 720p (default), no video input, 10 s: 41 × 10 = 410 credits × 2 = 820
    assert price("bytedance/seedance-2", {"duration": 10}, 2) == 820
    # the same with a reference video: 25 × 10 = 250
    assert quote(m("bytedance/seedance-2"), {"duration": 10, "reference_video_urls": [URL]}).credits == 250
    # kling 3.0, sound, pro, duration "7" (a string enum): 27 × 7 = 189 credits × 1.5 = 283.5 → 284
    assert price("kling-3.0/video", {"sound": True, "mode": "pro", "duration": "7"}, Decimal("1.5")) == 284


def test_per_video() -> None:
    # kling 2.6 with sound, 10 s: 220 credits × 2 = 440
    assert price("kling-2.6/text-to-video", {"sound": True, "duration": "10"}, 2) == 440
    # gemini omni with a source video: 720p row for video input, whatever the duration: 240
    got = quote(m("gemini-omni-video"), {"duration": "4", "video_list": [{"url": URL, "start": 0, "ends": 5}]})
    assert got == Quote(Decimal(240), True, "per video")


def test_per_1000_chars() -> None:
    # ElevenLabs turbo, 2500 characters: 6 × 2500 / 1000 = 15 credits × 2 = 30
    assert quote(m("elevenlabs/text-to-speech-turbo-2-5"), {"text": "a" * 2500}).credits == 15
    assert price("elevenlabs/text-to-speech-turbo-2-5", {"text": "a" * 2500}, 2) == 30
    # dialogue lines 600 + 400 characters: 14 × 1000 / 1000 = 14
    lines = [{"text": "b" * 600, "voice": "EkK5I93UQWFDigLMpZcX"}, {"text": "c" * 400}]
    assert quote(m("elevenlabs/text-to-dialogue-v3"), {"dialogue": lines}).credits == 14


def test_per_megapixel() -> None:
    # qwen square_hd (default) = 1024 × 1024 = 1.048576 MP × 4 = 4.194304 credits × 2 = 8.39 → 9
    assert quote(m("qwen/text-to-image"), {}) == Quote(Decimal("4.194304"), True, "per megapixel")
    assert price("qwen/text-to-image", {}, 2) == 9
    # landscape_16_9 = 1024 × 576 = 0.589824 MP × 4 = 2.359296 × 2 = 4.72 → 5
    assert price("qwen/text-to-image", {"image_size": "landscape_16_9"}, 2) == 5
    # qwen image-edit, 2 images of landscape_4_3 (1024 × 768 = 0.786432 MP) × 6 = 9.437184
    assert quote(m("qwen/image-edit"), {"num_images": "2"}).credits == Decimal("9.437184")


def test_per_megapixel_unknown_size_holds_the_most() -> None:
    model = m("qwen/image-to-image")
    # no size preset: hold 2048 × 2048 = 4.194304 MP × 4 = 16.777216, settle on the real output
    held = quote(model, {"prompt": "x", "image_url": URL})
    assert held == Quote(Decimal("16.777216"), False, "per megapixel")
    # output 1024 × 768 = 0.786432 MP × 4 = 3.145728
    assert actual_credits(model, {}, {}, [MediaFacts(width=1024, height=768)]) == Decimal("3.145728")
    # a bigger input photo (3000 × 2000 = 6 MP) raises the hold: 6 × 4 = 24
    assert quote(model, {}, {"image_url": MediaFacts(width=3000, height=2000)}).credits == 24


def test_per_request_and_per_n_images() -> None:
    # imagen 4: 8 per request × 2 = 16
    assert price("google/imagen4", {"prompt": "x"}, 2) == 16
    # grok text-to-image quality mode: 5 per 4 images × 2 = 10; speed mode: 4 per 6 images × 2 = 8
    assert price("grok-imagine/text-to-image", {"enable_pro": True}, 2) == 10
    assert price("grok-imagine/text-to-image", {"enable_pro": False}, 2) == 8
    # left unset (no default): the higher one is held, not exact
    assert quote(m("grok-imagine/text-to-image"), {}) == Quote(Decimal(5), False, "per 4 images")


def test_fractional_credits_round_up() -> None:
    # ideogram v3 TURBO 3.5 × 2 = 7
    assert price("ideogram/v3-text-to-image", {"rendering_speed": "TURBO"}, 2) == 7
    # z-image 0.8 × 3 = 2.4 → 3
    assert price("z-image", {}, 3) == 3
    assert user_price(Decimal("0.2"), 1) == 1  # never free
    assert user_price(Decimal("4.194304"), Decimal("1")) == 5


def test_unknown_media_length_holds_the_cap_then_settles() -> None:
    model = m("infinitalk/from-audio")
    # 480p: 3 per second; length unknown → the 15 s cap: 3 × 15 = 45, not exact
    held = quote(model, {"resolution": "480p"})
    assert held == Quote(Decimal(45), False, "per second")
    # the result is 7.2 s long → 8 whole seconds × 3 = 24
    assert actual_credits(model, {"resolution": "480p"}, {}, [MediaFacts(seconds=7.2)]) == 24
    # the upload said 7.2 s: 8 × 3 = 24 exactly
    assert quote(model, {"resolution": "480p"}, {"audio_url": MediaFacts(seconds=7.2)}) == Quote(Decimal(24), True, "per second")
    # a longer file is capped at 15 s: 45
    assert quote(model, {}, {"audio_url": MediaFacts(seconds=200)}).credits == 45


def test_unknown_duration_holds_the_longest() -> None:
    model = m("grok-imagine/text-to-video")  # duration 6-30, no default; 480p 1.6 per second
    assert quote(model, {}) == Quote(Decimal("48.0"), False, "per second")  # 1.6 × 30
    assert actual_credits(model, {}, {}, [MediaFacts(seconds=6.04)]) == Decimal("11.2")  # 1.6 × 7


def test_output_size_and_source_resolution_settle_after_the_run() -> None:
    topaz = m("topaz/image-upscale")
    assert quote(topaz, {}) == Quote(Decimal(40), False, "per image")  # the 8K row until the size is known
    assert actual_credits(topaz, {}, {}, [MediaFacts(width=2048, height=1536)]) == 10  # longest 2048 ≤ 2560: 2K
    assert actual_credits(topaz, {}, {}, [MediaFacts(width=4000, height=3000)]) == 20  # ≤ 4096: 4K
    assert actual_credits(topaz, {}, {}, [MediaFacts(width=8000, height=6000)]) == 40
    extend = m("grok-imagine/extend")
    assert quote(extend, {"extend_times": "6"}).credits == 20  # 720p row held
    assert actual_credits(extend, {"extend_times": "6"}, {}, [MediaFacts(width=854, height=480)]) == 10


def test_unknown_image_count_settles_on_the_outputs() -> None:
    model = m("wan/2-7-image")  # 4.8 per image, n 1-12 without default
    assert quote(model, {}) == Quote(Decimal("57.6"), False, "per image")  # 4.8 × 12
    four = [MediaFacts(width=1024, height=1024)] * 4
    assert actual_credits(model, {}, {}, four) == Decimal("19.2")  # 4.8 × 4
    assert quote(model, {"n": 2}).credits == Decimal("9.6")


def test_rows_the_schema_cannot_produce_are_ignored() -> None:
    model = m("wan/2-6-video-to-video")
    assert all(r["when"].get("duration") != "15" for r in model.pricing)
    assert offered_options(model, "duration", {}) == ("5", "10")
    assert price_range(model, 2) == (140, 419)  # 70 × 2 … 209.5 × 2


def test_no_price_for_an_unpriced_combination() -> None:
    # hailuo 2.3 pro has no 10 s 1080P row
    assert quote(m("hailuo/2-3-image-to-video-pro"), {"duration": "10", "resolution": "1080P"}) is None


def test_offered_options() -> None:
    hailuo = m("hailuo/02-image-to-video-standard")  # rows: 10/512P, 10/768P, 6/512P
    assert offered_options(hailuo, "duration", {}) == ("6", "10")  # resolution is still ahead: free
    assert offered_options(hailuo, hailuo.field("resolution"), {"duration": "6"}) == ("512P",)
    pro = m("hailuo/2-3-image-to-video-pro")
    assert offered_options(pro, "resolution", {"duration": "10"}) == ("768P",)
    assert offered_options(pro, "resolution", {"duration": "6"}) == ("768P", "1080P")


def test_price_range() -> None:
    # kling 2.6: 55 (5 s, no sound) … 220 (10 s, sound), × 2
    assert price_range(m("kling-2.6/text-to-video"), 2) == (110, 440)
    # seedance 2: 480p with video 11.4 × 4 s = 45.6 … 4k without video 208 × 15 s = 3120; × 2 → 92 … 6240
    assert price_range(m("bytedance/seedance-2"), 2) == (92, 6240)


# --- property: a hold never falls short of the charge --------------------------------------------------
def _value_strategy(spec):
    if spec.kind is FieldKind.CHOICE:
        return st.sampled_from(spec.options)
    if spec.kind is FieldKind.BOOL:
        return st.booleans()
    if spec.kind is FieldKind.INTEGER and spec.minimum is not None and spec.maximum is not None:
        return st.integers(int(spec.minimum), int(min(spec.maximum, 10_000)))
    if spec.kind is FieldKind.TEXT:
        return st.text(min_size=1, max_size=50)
    if spec.kind is FieldKind.FILES:
        return st.just([URL])
    if spec.kind is FieldKind.FILE:
        return st.just(URL)
    return None


@st.composite
def model_and_values(draw):
    model = draw(st.sampled_from(CATALOG.models))
    values = {}
    for spec in model.fields:
        strategy = _value_strategy(spec)
        if strategy is not None and draw(st.booleans()):
            values[spec.name] = draw(strategy)
    facts = st.builds(MediaFacts, st.none() | st.floats(0.1, 600), st.none() | st.integers(64, 9000),
                      st.none() | st.integers(64, 9000))
    media = draw(st.dictionaries(st.sampled_from([f.name for f in model.fields] or ["x"]), facts, max_size=2))
    outputs = draw(st.lists(facts, max_size=6))
    return model, values, media, outputs


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model_and_values())
def test_quote_is_positive_and_never_below_the_charge(case) -> None:
    model, values, media, outputs = case
    held = quote(model, values, media)
    if held is None:
        return
    assert held.credits > 0 or all(credits_of(rule) == 0 for rule in model.pricing)  # free at KIE: 0
    charged = actual_credits(model, values, media, outputs)
    assert Decimal(0) <= charged <= held.credits
    if held.exact:
        assert charged == held.credits
