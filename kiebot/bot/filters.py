"""Filters that run on the event loop.

aiogram (3.31) calls a filter or handler that is not a coroutine function — a plain function, a `State`, a bare
`F...` magic filter — through `asyncio.to_thread`: a hop to a worker thread and back (and a GIL hand-off) every
time an update is tried against it, which made every text message pay five of them. The bot registers coroutine
filters only: `Magic(F...)` instead of a bare magic filter, `StateFilter(...)` instead of a `State`, `async def`
functions (checked by `tests/unit/test_filters.py`).
"""
from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class Magic(Filter):
    """A magic filter (`F.successful_payment`) resolved on the event loop."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)
