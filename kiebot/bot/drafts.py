"""The form being filled in: kept in the FSM storage (SQL), handed to handlers as an `OpenForm` by a filter."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from kiebot.bot import ui
from kiebot.bot.i18n import Translate
from kiebot.bot.screens import Screen
from kiebot.bot.screens import wizard as wizard_screens
from kiebot.catalog import Catalog, FieldKind, ModelSpec
from kiebot.services.account import AccountService, Profile
from kiebot.services.generation import GenerationService
from kiebot.services.money import MoneyService
from kiebot.services.next_steps import NextSteps
from kiebot.services.wizard import Draft


class Wizard(StatesGroup):
    form = State()


@dataclass(frozen=True)
class Forms:
    """Per update: opens the user's forms with what their screens need (built by `FormsMiddleware`)."""

    state: FSMContext
    tr: Translate
    lang: str
    user: Profile
    accounts: AccountService
    generation: GenerationService
    money: MoneyService
    next_steps: NextSteps

    def open(self, draft: Draft, model: ModelSpec) -> OpenForm:
        return OpenForm(self, draft, model)


@dataclass
class OpenForm:
    """A user's open form: the draft, its model, and what its screens need."""

    forms: Forms
    draft: Draft
    model: ModelSpec

    @property
    def tr(self) -> Translate:
        return self.forms.tr

    @property
    def lang(self) -> str:
        return self.forms.lang

    @property
    def state(self) -> FSMContext:
        return self.forms.state

    async def screen(self, page: int = 0) -> Screen:
        """The screen the form is at: a step, or the confirmation with the price and the balance as it is now."""
        if not self.draft.at_confirmation:
            spec = self.draft.spec(self.model)
            parents = None
            if spec is not None and spec.kind == FieldKind.TASK:  # the user's earlier generations to choose from
                parents = await self.forms.next_steps.choices(self.forms.user.id, self.model, spec)
            return wizard_screens.step_screen(self.tr, self.lang, self.model, self.draft, page, parents)
        price = self.forms.generation.price(self.model, self.draft)
        balance = (await self.forms.accounts.get(self.forms.user.id)).balance
        batch = self.forms.generation.batch_quote(self.model, self.draft)
        free_left = 0 if self.draft.batch_size > 1 else await self.forms.money.free_left(self.forms.user.id,
                                                                                         self.model.id)
        return wizard_screens.confirm_screen(self.tr, self.lang, self.model, self.draft, price, balance, page,
                                             free_left=free_left, batch=batch)

    async def save(self) -> None:
        await self.state.set_state(Wizard.form)
        await self.state.update_data(draft=self.draft.to_dict())

    async def begin(self, query: CallbackQuery, list_page: int = 0) -> None:
        """Store a new form and show its screen in a new message, after the pressed one. `list_page`: the page of
        the model list it was started from (Back from the first step returns there)."""
        await self.state.set_state(Wizard.form)
        await self.state.set_data({"draft": self.draft.to_dict(), "list_page": list_page})
        await query.answer()
        await ui.show(query, await self.screen(), edit=False)

    async def list_page(self) -> int:
        return int((await self.state.get_data()).get("list_page", 0))

    async def close(self) -> None:
        await self.state.clear()

    async def redraw(self, query: CallbackQuery, page: int = 0) -> None:
        """After a press: keep the change and show the form's screen in place of the pressed one."""
        await query.answer()
        await self.save()
        await ui.show(query, await self.screen(page), edit=True)

    async def cancel(self, query: CallbackQuery) -> None:
        await self.close()
        await query.answer()
        await ui.show(query, Screen(self.tr("wizard-cancelled")), edit=True)


class FormFilter(Filter):
    """Passes an update for the user's open form and hands the handler `form` (an `OpenForm`).

    For a button, `at_confirmation` says which screen it belongs to: a press on an older screen (another token), or
    on a step while the form is at its confirmation (or the other way round) does not pass, and the fallback router
    answers it. A message always passes while a form is open. Nothing passes for a form whose model is no longer
    offered: `ModelGone` takes those (in the fallback router).
    """

    def __init__(self, *, at_confirmation: bool | None = None) -> None:
        self.at_confirmation = at_confirmation

    async def __call__(self, event: CallbackQuery | Message, forms: Forms, catalog: Catalog,
                       callback_data: Any = None) -> bool | dict[str, Any]:
        raw = (await forms.state.get_data()).get("draft")
        draft = Draft.from_dict(raw) if raw else None
        if draft is None:
            return False
        if callback_data is not None and (draft.token != callback_data.token
                                          or draft.at_confirmation != self.at_confirmation):
            return False
        model = catalog.get(draft.model_id)
        if model is None:  # hidden by the operator or disabled by KIE since the form was started
            return False
        return {"form": forms.open(draft, model)}


class ModelGone(Filter):
    """Passes while the user's open form is of a model no longer offered (hidden by the operator or disabled by KIE
    since the form was started), so the user is told so instead of getting a generic answer."""

    async def __call__(self, event: CallbackQuery | Message, forms: Forms, catalog: Catalog) -> bool:
        raw = (await forms.state.get_data()).get("draft")
        return bool(raw) and catalog.get(Draft.from_dict(raw).model_id) is None
