"""Button payloads. Ids and small numbers only: Telegram allows 64 bytes of callback data."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuCB(CallbackData, prefix="m"):
    action: str  # home | cats | balance | history | language | help


class CategoryCB(CallbackData, prefix="c"):
    category: str
    task: str = ""  # empty: the list of tasks of the category
    page: int = 0


class ModelCB(CallbackData, prefix="md"):
    slug: str
    action: str = "card"  # card | start


class StepCB(CallbackData, prefix="w"):
    """A press on a wizard step. `token` ties the button to the screen it was shown on."""

    token: int
    action: str  # pick | page | yes | no | keep | rest | done | more | back | cancel | text-done
    arg: int = 0


class ConfirmCB(CallbackData, prefix="cf"):
    token: int
    action: str  # go | edit | cancel | back | page
    arg: int = 0


class HistoryCB(CallbackData, prefix="h"):
    action: str  # repeat | edit | page
    job_id: int = 0


class LanguageCB(CallbackData, prefix="lang"):
    code: str
