"""A user's journey through the bot's screens, written the way the user sees it:

    j = Journey(stack, alice)
    await j.open_model("google-nano-banana")
    await j.answer_text("A cat")
    await j.defaults_for_the_rest()
    confirm = await j.confirmation()
    await j.confirm()
    done = await j.result()

Every wait is for one exact screen that the bot sends or edits AFTER the user's latest action (the fake
Telegram's message events, see ``UserDriver.wait_for_screen``), recognised by its header line — built from the
bot's own texts (``Texts``) — or by its buttons: the model card is the message with the "▶ Start" button, step N
the message whose first line is "<model> · step N of M", the confirmation the one whose first line is "<model> —
check the parameters:", a job's status its confirmation message edited to "<emoji> <model> (#<job>): ...".
Nothing shown before the action (another job's status, an older step) can match. A wait returns the message as
it was when it matched, and makes it the screen the next tap goes to.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import ADMIN, Stack
from tests.e2e.texts import Texts
from tests.fakes import FakeMessage, FakeUser


class Journey:
    """One user (in one language) going through the screens; see the module's docstring."""

    def __init__(self, stack: Stack, user: FakeUser) -> None:
        self.stack, self.tg, self.user = stack, stack.tg, user
        self.texts = Texts(user.language_code or "en")
        self.model: str | None = None  # the model's name as its card shows it
        self.card: FakeMessage | None = None
        self.screen: FakeMessage | None = None  # the latest screen waited for: where `tap` taps
        self.confirm_screen: FakeMessage | None = None
        self.step_number, self.steps = 0, 0  # the latest step screen: step N of M
        self.editing = False  # one value asked again (from the confirmation or the history): it leads back there
        self.job: int | None = None  # the generation the latest confirmation started
        self._confirmed_at = 0  # the event cursor when the confirmation was pressed

    # ----------------------------------------------------------------- the user's actions (no waiting)

    async def command(self, command: str, args: str | None = None) -> None:
        await self.tg.send_command(self.user, command, args)

    async def send_text(self, text: str) -> None:
        await self.tg.send_text(self.user, text)

    async def send_photo(self, **photo: Any) -> None:
        await self.tg.send_photo(self.user, **photo)

    async def send_document(self, data: bytes, file_name: str, mime: str, **document: Any) -> None:
        await self.tg.send_document(self.user, data, file_name, mime, **document)

    async def send_audio(self, duration: int) -> None:
        await self.tg.send_audio(self.user, duration=duration)

    async def send_sticker(self) -> None:
        await self.tg.send_sticker(self.user)

    async def tap(self, label: str, *, on: FakeMessage | None = None) -> str:
        """Tap the button `label` (exact, else the only one containing it) on `on` or the current screen;
        returns the callback query id."""
        query = await self.tg.click(self.user, label, message=on or self.screen)
        assert isinstance(query, str), f"{label!r} is not an inline button"
        return query

    # ----------------------------------------------------------------- exact screens

    async def wait(self, what: str, check: Callable[[FakeMessage], bool], *, after: int | None = None,
                   timeout: float = 10.0) -> FakeMessage:
        """The first message sent or edited after the user's latest action (or event `after`) passing `check`."""
        self.screen = await self.tg.wait_for_screen(self.user.id, check, after=after, timeout=timeout, what=what)
        return self.screen

    async def shown(self, key: str, **params: Any) -> FakeMessage:
        """The message whose first line is the bot's text `key` (with `params`; the others match anything)."""
        line = self.texts.line(key, **params)
        return await self.wait(f"text {key} {params}", lambda m: bool(line.fullmatch(m.first_line)))

    async def reply(self, start: str) -> FakeMessage:
        """The message whose text starts with `start` (an error, a refusal...)."""
        return await self.wait(f"message starting {start!r}", lambda m: m.content.startswith(start))

    async def step(self, number: int | None = None, *, collected: int | None = None) -> FakeMessage:
        """Step `number` (any step if None) of the model's form; `collected`: the files it says it received."""
        header = self._step_header(number)
        count_line = None if collected is None else self.texts("collected", count=collected)

        def check(message: FakeMessage) -> bool:
            return bool(header.fullmatch(message.first_line)) and (
                count_line is None or count_line in message.content.split("\n"))

        what = f"step {number or 'N'} of {self.model}" + (f" saying {count_line!r}" if count_line else "")
        return self._seen(await self.wait(what, check))

    async def confirmation(self) -> FakeMessage:
        """The confirmation screen of the model."""
        title = self._confirm_title()
        return self._seen(await self.wait(f"the confirmation of {self.model}",
                                          lambda m: bool(title.fullmatch(m.first_line))))

    async def form_screen(self) -> FakeMessage:
        """A step or the confirmation, whichever comes (for a form walked without knowing its order)."""
        header, title = self._step_header(), self._confirm_title()
        return self._seen(await self.wait(f"a step or the confirmation of {self.model}", lambda m: bool(
            header.fullmatch(m.first_line) or title.fullmatch(m.first_line))))

    def _step_header(self, number: int | None = None) -> re.Pattern[str]:
        return self.texts.line("step-header", model=self.model, number=number)

    def _confirm_title(self) -> re.Pattern[str]:
        return self.texts.line("confirm-title", model=self.model)

    def _seen(self, screen: FakeMessage) -> FakeMessage:
        """Remember where the form is: at step N of M, or at the confirmation."""
        step = self._step_header().fullmatch(screen.first_line)
        if step:
            self.step_number, self.steps = int(step["number"]), int(step["total"])
        else:
            self.confirm_screen, self.editing = screen, False
        return screen

    async def next_screen(self) -> FakeMessage:
        """Where an answer leads: the next step, or the confirmation after the last step or an edited value."""
        if self.editing or self.step_number == self.steps:
            return await self.confirmation()
        return await self.step(self.step_number + 1)

    # ----------------------------------------------------------------- menus

    async def home(self) -> FakeMessage:
        """`/start`: the main menu."""
        await self.command("/start")
        return await self.shown("home")

    async def history(self) -> FakeMessage:
        """`/history`: the recent generations."""
        await self.command("/history")
        return await self.shown("history-title")

    async def repeat(self, job: int) -> FakeMessage:
        """🔁 Repeat on the history screen: the confirmation with the same values."""
        await self.tap(self.texts("btn-repeat", job=job))
        return await self.confirmation()

    # ----------------------------------------------------------------- the form

    async def open_card(self, slug: str) -> FakeMessage:
        """`/start m_<slug>`: the model's card (the message with the ▶ Start button)."""
        await self.command("/start", f"m_{slug}")
        start = self.texts("btn-start-model")
        self.card = await self.wait(f"the card of {slug}", lambda m: start in m.buttons())
        self.model = self.card.first_line
        return self.card

    async def start(self) -> FakeMessage:
        """▶ Start on the card: step 1."""
        await self.tap(self.texts("btn-start-model"), on=self.card)
        return await self.step(1)

    async def open_model(self, slug: str) -> FakeMessage:
        """The model's card, then ▶ Start: step 1."""
        await self.open_card(slug)
        return await self.start()

    async def answer_text(self, text: str) -> FakeMessage:
        """Type the answer of the step: the next screen."""
        await self.send_text(text)
        return await self.next_screen()

    async def answer_photo(self, **photo: Any) -> FakeMessage:
        """Send a photo as the answer of the step: the next screen (other files: `send_...`, then the screen)."""
        await self.send_photo(**photo)
        return await self.next_screen()

    async def choose(self, label: str) -> FakeMessage:
        """Tap an option (or ✅ Done, ⏭ Keep the default...) on the step: the next screen."""
        await self.tap(label)
        return await self.next_screen()

    async def defaults_for_the_rest(self) -> FakeMessage:
        """⏩ Defaults for all the rest: the confirmation."""
        await self.tap(self.texts("btn-defaults-rest"))
        return await self.confirmation()

    async def answer(self, answer: str) -> FakeMessage:
        """Tap the step's button `answer` names (with or without the ✓ of the default), else type `answer`."""
        if answer == self.texts("btn-defaults-rest"):
            return await self.defaults_for_the_rest()
        assert self.screen is not None
        labels = [label for label in self.screen.buttons() if label in (answer, f"✓ {answer}")]
        return await (self.choose(labels[0]) if labels else self.answer_text(answer))

    async def fill(self, slug: str, *answers: str) -> FakeMessage:
        """Open the model and give `answers` step by step (see `answer`): the confirmation."""
        await self.open_model(slug)
        for answer in answers:
            await self.answer(answer)
        return await self.confirmation()

    async def edit(self, label: str) -> FakeMessage:
        """✏️ a value (on the confirmation or the history): its step, which leads back to the confirmation."""
        await self.tap(label)
        self.editing = True
        return await self.step()

    # ----------------------------------------------------------------- the generation

    async def press_confirm(self, price: int | None = None) -> str:
        """Tap ✅ Confirm on the latest confirmation screen (the one saying `price` 💎, when given);
        returns the callback query id."""
        assert self.confirm_screen is not None, "no confirmation screen yet"
        label = self.texts.line("btn-confirm", price=price)
        button = next((b for b in self.confirm_screen.buttons() if label.fullmatch(b)), None)
        assert button, f"no button {label.pattern!r} among {self.confirm_screen.buttons()}"
        self.job, self._confirmed_at = None, self.tg.cursor
        return await self.tap(button, on=self.confirm_screen)

    async def confirm(self, price: int | None = None) -> FakeMessage:
        """Confirm (see `press_confirm`): the confirmation turns into the job's status ("Starting…" or "Waiting
        in line")."""
        await self.press_confirm(price)
        return await self._status(["accepted", "waiting"], timeout=10.0)

    async def generate(self, price: int) -> FakeMessage:
        """Confirm at `price` 💎 and wait for the result; checks that exactly `price` 💎 were charged."""
        await self.confirm(price)
        done = await self.result()
        ready = self.texts.line("status-done", model=self.model, job=self.job).fullmatch(done.first_line)
        assert ready and ready["charged"] == str(price), done.text
        return done

    async def status(self, state: str, *, timeout: float = 20.0) -> FakeMessage:
        """The job's status message once it is in `state` (status-<state> in the texts: generating, done...)."""
        return await self._status([state], timeout=timeout)

    async def _status(self, states: list[str], *, timeout: float) -> FakeMessage:
        assert self.confirm_screen is not None, "nothing was confirmed"
        status_id = self.confirm_screen.message_id  # the confirmation message becomes the status message
        lines = [self.texts.line(f"status-{state}", model=self.model, job=self.job) for state in states]

        def match(message: FakeMessage) -> re.Match[str] | None:
            found = (line.fullmatch(message.first_line) for line in lines)
            return next((m for m in found if m), None) if message.message_id == status_id else None

        status = await self.wait(f"status {'/'.join(states)} of {self.model} job #{self.job or 'N'}",
                                 lambda m: match(m) is not None, after=self._confirmed_at, timeout=timeout)
        if self.job is None:
            found = match(status)
            assert found is not None
            self.job = int(found["job"])
        return status

    async def result(self, timeout: float = 20.0) -> FakeMessage:
        """The job's status once it says the result is ready."""
        return await self.status("done", timeout=timeout)

    async def failure(self, timeout: float = 20.0) -> FakeMessage:
        """The job's status once it says the job failed and the price is back."""
        return await self.status("failed", timeout=timeout)

    def delivered(self, kind: str) -> list[FakeMessage]:
        """The results of this kind ("photo", "video", "audio") in the user's chat, oldest first."""
        return [m for m in self.tg.messages(self.user.id) if m.media_type == kind]


async def grant(stack: Stack, user: FakeUser, amount: int) -> FakeMessage:
    """The operator credits `user` with /grant (the user must have started the bot)."""
    admin = Journey(stack, ADMIN)
    await admin.command("/grant", f"{user.id} {amount}")
    return await admin.shown("granted", amount=amount, user_id=user.id)


# --------------------------------------------------------------------------- payments (Telegram Stars)

class Payer(Journey):
    """A journey that also tops up with Stars: /topup, a package, its invoice, the payment and its receipt."""

    async def packages(self) -> FakeMessage:
        """`/topup`: the packages screen."""
        await self.command("/topup")
        return await self.shown("topup-title")

    async def invoice(self) -> FakeMessage:
        """The invoice the bot sends after the user's latest action."""
        return await self.wait("an invoice", lambda m: m.invoice is not None)

    async def choose_package(self, stars: int, credits: int) -> FakeMessage:
        """Tap the package "<stars> ⭐ → <credits> 💎" on the current screen: its invoice."""
        await self.tap(self.texts("topup-package", stars=stars, credits=credits))
        return await self.invoice()

    async def pay(self, invoice: FakeMessage | None = None, **how: Any) -> str | None:
        """Pay `invoice` (default: the latest); see ``UserDriver.pay`` (deliver_twice, lost). The charge id, or None
        when the bot declined at pre-checkout."""
        return await self.tg.pay(self.user, invoice, **how)

    async def receipt(self, stars: int, credits: int, balance: int) -> FakeMessage:
        """The exact receipt of a payment."""
        text = self.texts("payment-receipt", stars=stars, credits=credits, balance=balance)
        return await self.wait(f"the receipt {text!r}", lambda m: m.content == text)

    async def buy(self, stars: int, credits: int, balance: int) -> str:
        """/topup → the package → pay → the exact receipt (`balance`: the balance it says); the charge id."""
        await self.packages()
        await self.choose_package(stars, credits)
        charge = await self.pay()
        assert charge is not None, "the bot declined the payment"
        await self.receipt(stars, credits, balance)
        return charge


async def restart(stack: Stack) -> None:
    """`stack.restart_bot()`, returning only once the new bot polls. (`Stack.start_bot` waits for any getUpdates call
    so far, which the old bot's calls already are; and a stop that comes before the polling loop has started is lost
    — `App.stop` — so a second restart or the teardown would then wait forever.)"""
    await stack.stop_bot()
    polled = len(stack.tg.calls("getUpdates"))
    await stack.start_bot()
    await stack.tg.wait_for(lambda: len(stack.tg.calls("getUpdates")) > polled)


def pre_checkout_answers(stack: Stack, user: FakeUser) -> list[dict[str, Any]]:
    """The bot's answers to the user's pre-checkout queries, oldest first ({"ok": ..., "error_message": ...})."""
    return [q.answer or {} for q in stack.tg.state.pre_checkouts.values() if q.user_id == user.id and q.answered]


async def all_handled(stack: Stack, timeout: float = 10.0) -> None:
    """Every update queued so far was taken by the bot (confirmed by its next getUpdates) and its handler has
    finished, including updates those handlers caused (a refund's refunded_payment message): for checking that
    something did *not* happen (a duplicate payment credited nothing, no second message)."""
    assert stack.app is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        while stack.tg.pending_updates:  # a confirmation changes no state the fake announces: look again shortly
            assert loop.time() < deadline, f"updates not taken within {timeout}s: {stack.tg.pending_updates}"
            await asyncio.sleep(0.01)
        # The bot confirms updates only after creating their handler tasks (aiogram's polling loop).
        running = list(getattr(stack.app.dispatcher, "_handle_update_tasks", ()))
        if not running and not stack.tg.pending_updates:
            return
        if running:
            _, pending = await asyncio.wait(running, timeout=max(deadline - loop.time(), 0.1))
            assert not pending, f"{len(pending)} handler(s) still running after {timeout}s"

async def confirm_free(j: Journey) -> FakeMessage:
    """Tap "✅ Confirm — free" on the latest confirmation: the job's status ("Starting…" or "Waiting in line")."""
    assert j.confirm_screen is not None, "no confirmation screen yet"
    j.job, j._confirmed_at = None, j.tg.cursor
    await j.tap(j.texts("btn-confirm-free"), on=j.confirm_screen)
    return await j._status(["accepted", "waiting"], timeout=10.0)
