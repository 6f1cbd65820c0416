"""One adapter per KIE API family, behind one interface (`base.Family`), chosen from the model's catalogue entry:
`family_for(api)` → (adapter, `Api`). The client calls `create` and `poll`; the engine sees normalized records."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiebot.kie.families.aleph import Aleph
from kiebot.kie.families.base import Api, Family, Transport
from kiebot.kie.families.flux_kontext import FluxKontext
from kiebot.kie.families.gpt4o_image import Gpt4oImage
from kiebot.kie.families.market import Market
from kiebot.kie.families.runway import Runway
from kiebot.kie.families.suno import Suno
from kiebot.kie.families.veo import Veo

FAMILIES: dict[str, Family] = {f.name: f for f in (Market(), Veo(), Suno(), Runway(), Aleph(), Gpt4oImage(),
                                                    FluxKontext())}


def family_for(api: Mapping[str, Any] | Api | None) -> tuple[Family, Api]:
    """The adapter and endpoints of a model (`ModelSpec.api`; empty or None: the market API)."""
    spec = api if isinstance(api, Api) else Api.of(api)
    family = FAMILIES.get(spec.family)
    if family is None:
        raise ValueError(f"unknown KIE API family {spec.family!r}")
    return family, spec


__all__ = ["FAMILIES", "Api", "Family", "Transport", "family_for"]
