"""The order of model lists: the operator's pins (`"pin"` in CATALOG_PATH), then usage, then the catalogue order."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kiebot.catalog import Catalog, CatalogError

T2I = ["flux-2/pro-text-to-image", "flux-2/flex-text-to-image", "gpt-image/1.5-text-to-image",
       "gpt-image-2-text-to-image", "nano-banana-2"]


def load(tmp_path: Path, models: dict) -> Catalog:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": models}), "utf-8")
    return Catalog.load(path)


def ids(models) -> list[str]:
    return [m.id for m in models]


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return Catalog.load()


@pytest.fixture
def pinned(tmp_path: Path) -> Catalog:
    return load(tmp_path, {"z-image": {"pin": 2}, "google/imagen4": {"pin": -1}, "wan/2-7-image": {"pin": 2}})


def test_without_pins_lists_keep_the_catalogue_order(shipped: Catalog) -> None:
    listed = shipped.models_in("image", "text-to-image")
    assert ids(listed[:5]) == T2I
    assert ids(listed) == [m.id for m in shipped.models if m.category == "image" and m.task == "text-to-image"]
    assert all(m.pin is None for m in shipped.models)


def test_pinned_models_come_first_in_pin_order(pinned: Catalog) -> None:
    listed = ids(pinned.models_in("image", "text-to-image"))
    # equal pins keep the catalogue order: wan/2-7-image is listed before z-image
    assert listed[:3] == ["google/imagen4", "wan/2-7-image", "z-image"]
    assert listed[3:8] == T2I
    assert ids(pinned.models_in("image"))[:3] == listed[:3]


def test_pins_change_neither_other_lists_nor_the_menus(shipped: Catalog, pinned: Catalog) -> None:
    assert pinned.categories() == shipped.categories()
    assert pinned.tasks("image") == shipped.tasks("image")
    assert ids(pinned.models) == ids(shipped.models)
    assert ids(pinned.models_in("video")) == ids(shipped.models_in("video"))


def test_pins_survive_removing_models(pinned: Catalog) -> None:
    smaller = pinned.without({"google/imagen4"}, "test")
    assert ids(smaller.models_in("image", "text-to-image"))[:2] == ["wan/2-7-image", "z-image"]


def test_ordered_by_pin_then_usage_then_catalogue_order(pinned: Catalog) -> None:
    models = pinned.models_in("image", "text-to-image")
    usage = {"nano-banana-2": 40, "gpt-image-2-text-to-image": 7, "flux-2/flex-text-to-image": 7,
             "z-image": 1000, "wan/2-7-image": 3}
    got = ids(pinned.ordered(models, usage))
    # pins beat usage; within pin 2, z-image is used more than wan/2-7-image
    assert got[:3] == ["google/imagen4", "z-image", "wan/2-7-image"]
    # then by usage; the two models used 7 times keep the catalogue order
    assert got[3:6] == ["nano-banana-2", "flux-2/flex-text-to-image", "gpt-image-2-text-to-image"]
    assert got[6:8] == ["flux-2/pro-text-to-image", "gpt-image/1.5-text-to-image"]
    assert sorted(got) == sorted(ids(models))


def test_ordered_without_usage_is_pins_then_catalogue_order(pinned: Catalog) -> None:
    models = pinned.models_in("image", "text-to-image")
    assert pinned.ordered(reversed(models), {}) == list(models)


def test_ordered_ignores_unknown_ids_and_puts_unknown_models_last(shipped: Catalog) -> None:
    first, second = shipped.get(T2I[0]), shipped.get(T2I[1])
    stranger = replace(first, id="acme/unknown")
    usage = {"no/such-model": 99, "acme/unknown": 5}
    assert ids(shipped.ordered([stranger, second, first], usage)) == ["acme/unknown", T2I[0], T2I[1]]
    assert ids(shipped.ordered([stranger, second, first], {})) == [T2I[0], T2I[1], "acme/unknown"]
    assert shipped.ordered([], usage) == []


@pytest.mark.parametrize("pin", ["1", True, 1.5, None])
def test_a_pin_must_be_a_whole_number(tmp_path: Path, pin) -> None:
    with pytest.raises(CatalogError, match="model z-image: 'pin' must be a whole number"):
        load(tmp_path, {"z-image": {"pin": pin}})
