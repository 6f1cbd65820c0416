"""What every screen is made of: the screen itself, buttons, rows of buttons and the one pager."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

T = TypeVar("T")
Keyboard = list[list[InlineKeyboardButton]]


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None = None

    @classmethod
    def of(cls, text: str, keyboard: Keyboard | None = None) -> Screen:
        return cls(text, InlineKeyboardMarkup(inline_keyboard=keyboard) if keyboard else None)


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def rows(buttons: Sequence[InlineKeyboardButton], width: int) -> Keyboard:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


@dataclass(frozen=True)
class Pager:
    """One rule for every list shown page by page: pages count from 0, a page out of range shows the nearest one."""

    per_page: int

    def pages(self, total: int) -> int:
        return max(1, -(-total // self.per_page))

    def clamp(self, page: int, total: int) -> int:
        return min(max(page, 0), self.pages(total) - 1)

    def slice(self, items: Sequence[T], page: int) -> Sequence[T]:
        page = self.clamp(page, len(items))
        return items[page * self.per_page : (page + 1) * self.per_page]

    def row(self, page: int, total: int, data_for: Callable[[int], Any]) -> list[InlineKeyboardButton]:
        """◀ n/N ▶ (empty when everything fits on one page); `data_for(page)` is the callback data of a page."""
        pages = self.pages(total)
        if pages <= 1:
            return []
        page = self.clamp(page, total)
        row = [button("◀", data_for(page - 1))] if page > 0 else []
        row.append(button(f"{page + 1}/{pages}", data_for(page)))
        if page < pages - 1:
            row.append(button("▶", data_for(page + 1)))
        return row


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
