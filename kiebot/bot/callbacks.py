"""Button payloads. Ids and small numbers only: Telegram allows 64 bytes of callback data.

Every `action` is a StrEnum: a payload with an unknown action does not unpack, so no handler's filter matches it
and the fallback router answers "this button is from an older screen".
"""
from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class MenuAction(StrEnum):
    HOME = "home"
    CATEGORIES = "cats"
    BALANCE = "balance"
    HISTORY = "history"
    TOPUP = "topup"
    LANGUAGE = "language"
    HELP = "help"


class MenuCB(CallbackData, prefix="m"):
    action: MenuAction


class CategoryCB(CallbackData, prefix="c"):
    category: str
    task: str = ""  # empty: the list of tasks of the category
    page: int = 0


class ModelAction(StrEnum):
    CARD = "card"
    START = "start"


class ModelCB(CallbackData, prefix="md"):
    slug: str
    action: ModelAction = ModelAction.CARD
    page: int = 0  # the page of the model list the card was opened from, for its Back button


class StepAction(StrEnum):
    PICK = "pick"  # an option or a preset: `arg` is its index
    PAGE = "page"  # another page of options: `arg` is the page
    YES = "yes"
    NO = "no"
    KEEP = "keep"  # keep the default / skip
    REST = "rest"  # defaults for all the rest
    DONE = "done"  # finish a list of files, texts or entries
    MORE = "more"  # add another entry
    BACK = "back"
    CANCEL = "cancel"
    TEXT_DONE = "text-done"  # a long text sent in parts is complete


class StepCB(CallbackData, prefix="w"):
    """A press on a wizard step. `token` ties the button to the screen it was shown on."""

    token: int
    action: StepAction
    arg: int = 0


class ConfirmAction(StrEnum):
    GO = "go"
    EDIT = "edit"  # `arg` is the field's index in the form
    BACK = "back"
    PAGE = "page"  # another page of ✏️ buttons
    CANCEL = "cancel"
    VARIANTS = "variants"  # 🔢 Variants: the screen of ×N and varied values


class ConfirmCB(CallbackData, prefix="cf"):
    token: int
    action: ConfirmAction
    arg: int = 0


class VariantAction(StrEnum):
    COPIES = "copies"  # `arg` runs of the same values (1 = a single run)
    FIELD = "field"  # vary the `arg`-th of the fields that may be varied: tick its values next
    TICK = "tick"  # tick or untick the `arg`-th option of the varied field
    DONE = "done"  # back to the confirmation with the ticked values
    BACK = "back"  # from the values to the variants screen, from there to the confirmation


class VariantCB(CallbackData, prefix="v"):
    """A press on the variants screens of the confirmation (tied to the draft's `token`, like ConfirmCB)."""

    token: int
    action: VariantAction
    arg: int = 0


class HistoryAction(StrEnum):
    REPEAT = "repeat"
    EDIT = "edit"


class HistoryCB(CallbackData, prefix="h"):
    action: HistoryAction
    job_id: int


class HistoryPageCB(CallbackData, prefix="hp"):
    page: int


class JobAction(StrEnum):
    CANCEL = "cancel"  # while it waits in the bot's line
    RETRY = "retry"  # after it failed: the same values on a new confirmation
    CANCEL_BATCH = "cancel-batch"  # variants ×N while all of them wait in line: `job_id` is the batch's id
    LYRICS = "lyrics"  # once done: the lyrics of its result's tracks, in new messages


class JobCB(CallbackData, prefix="j"):
    """A button on a generation's status message."""

    action: JobAction
    job_id: int


class NextAction(StrEnum):
    STEP = "step"  # a next step under a result (`step`: a services.next_steps.Step value): its short model list
    MODEL = "model"  # a model of that list (`slug`): its form, with the result filled in


class NextCB(CallbackData, prefix="nx"):
    """Continue from item `item` (-1: not chosen yet) of the user's generation `job_id`: its id, never its URLs
    (at most 63 bytes with a 40-character slug and a 10-digit job id)."""

    action: NextAction
    job_id: int
    step: str = ""
    slug: str = ""
    item: int = -1


class ParentCB(CallbackData, prefix="wp"):
    """On a step asking for an earlier generation: the user's job `job_id` (its result item `item`)."""

    token: int
    job_id: int
    item: int = 0


class TopupCB(CallbackData, prefix="tu"):
    """Buy the package of `stars` Stars (the invoice names the package it was shown for)."""

    stars: int


class LanguageCB(CallbackData, prefix="lang"):
    code: str
