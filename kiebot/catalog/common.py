"""What the catalogue (`model.py`) and the operator's override file (`override.py`) share: the error and slugs."""
from __future__ import annotations

import re

SLUG_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
SLUG_MAX = 40
# Shorter spellings of the task words in model ids, so that slugs stay short (`m_<slug>` deep links).
_SLUG_WORDS = (
    ("text-to-image", "t2i"), ("image-to-image", "i2i"), ("text-to-video", "t2v"), ("image-to-video", "i2v"),
    ("video-to-video", "v2v"), ("text-to-speech", "tts"), ("speech-to-video", "s2v"),
    ("reference-to-video", "r2v"), ("text-to-dialogue", "t2d"),
)


class CatalogError(Exception):
    """The catalogue or its override file is unusable; the message says why (shown to the operator)."""


def base_slug(model_id: str) -> str:
    """`google/nano-banana-edit` → `google-nano-banana-edit`, `kling-2.6/text-to-video` → `kling-2_6-t2v`."""
    slug = model_id.lower()
    for words, short in _SLUG_WORDS:
        slug = slug.replace(words, short)
    slug = slug.replace("/", "-").replace(".", "_")
    slug = re.sub(r"[^a-z0-9_-]+", "-", slug)
    slug = re.sub(r"-{2,}", "-", slug).strip("-_")
    return slug[:SLUG_MAX].rstrip("-_") or "model"


def unique_slug(model_id: str, taken: set[str]) -> str:
    """The base slug, or with `-2`, `-3`… when taken (callers go through ids in a fixed order)."""
    base = base_slug(model_id)
    slug, n = base, 1
    while slug in taken:
        n += 1
        suffix = f"-{n}"
        slug = base[: SLUG_MAX - len(suffix)] + suffix
    return slug
