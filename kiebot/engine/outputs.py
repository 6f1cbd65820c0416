"""Reading the size of result images, for prices that depend on the output (megapixels, 2K/4K/8K)."""
from __future__ import annotations

import io
import logging

import aiohttp
from PIL import Image

from kiebot.catalog.pricing import MediaFacts

log = logging.getLogger(__name__)
MAX_BYTES = 64 * 1024 * 1024


async def measure_outputs(urls: list[str]) -> list[MediaFacts]:
    """Width and height of each result image; an unreadable one counts as unknown (the held price stays)."""
    facts = []
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for url in urls:
            facts.append(await _measure(http, url))
    return facts


async def _measure(http: aiohttp.ClientSession, url: str) -> MediaFacts:
    try:
        async with http.get(url) as response:
            response.raise_for_status()
            data = await response.content.read(MAX_BYTES)
        with Image.open(io.BytesIO(data)) as image:
            return MediaFacts(seconds=None, width=image.width, height=image.height)
    except Exception as exc:  # a broken result must not block settlement
        log.warning("could not measure a result image: %s", type(exc).__name__)
        return MediaFacts(seconds=None, width=None, height=None)
