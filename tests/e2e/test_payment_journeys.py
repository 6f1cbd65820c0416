"""Money coming in and going out, end to end: Stars top-ups (invoice → pre-checkout → payment → receipt), payments
delivered twice or missed, refunds by the operator and outside the bot, declines, the shortfall's package, promo
codes, free tries, referrals, the low-balance notice, and a swapped audio file priced by its real length.

Every journey ends with the ledger invariants (tests/ledger_invariants.py) checked against the bot's database."""
from __future__ import annotations

from pathlib import Path

from kiebot.kie.fakemedia import make_wav
from kiebot.store import users as user_repo
from tests.e2e.conftest import ADMIN, Stack, balance_of, ledger_of, relaxed_flood, running_stack
from tests.e2e.journey import (
    Journey,
    Payer,
    all_handled,
    confirm_free,
    pre_checkout_answers,
    restart,
)
from tests.e2e.texts import Texts
from tests.fakes import FakeMessage, FakeUser
from tests.ledger_invariants import assert_ledger_invariants

CAROL = FakeUser(1003, "Carol", "en", "carol")
DAVE = FakeUser(1004, "Dave", "en", "dave")
ERIN = FakeUser(1005, "Erin", "en", "erin")


async def invariants(stack: Stack) -> None:
    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        await assert_ledger_invariants(session)


async def video_confirmation(j: Journey) -> FakeMessage:
    """Kling 2.6 text-to-video, 5 s without sound: 55 credits × 2 = 110 💎."""
    confirm = await j.fill("kling-2_6-t2v", "Waves on a beach", "No", "⏭ Keep the default", "⏭ Keep the default")
    assert "Price: 110 💎" in confirm.text, confirm.text
    return confirm


async def image_confirmation(j: Journey, prompt: str) -> FakeMessage:
    """Nano Banana with defaults: 8 💎 (or a free try)."""
    return await j.fill("google-nano-banana", prompt, "⏩ Defaults for all the rest")


async def choose_english(j: Journey) -> None:
    """/language → English. Messages sent outside the user's own updates (a refund notice, a referral bonus) follow
    the language chosen, else DEFAULT_LANGUAGE (ru): the bot does not keep Telegram's language_code."""
    await j.command("/language")
    await j.shown("choose-language")
    await j.tap("🇬🇧 English")
    await j.shown("home")


async def reconciled_at_start_up(stack: Stack) -> None:
    """Restart the bot and let the reconciliation it runs at start-up finish: once that run has Telegram's list
    (getStarTransactions answered), the bot is stopped — a stop waits for the run under way — and started again."""
    tg = stack.tg
    asked = len(tg.calls("getStarTransactions"))
    await restart(stack)
    await tg.wait_for(lambda: any(c.status for c in tg.calls("getStarTransactions")[asked:]))
    await restart(stack)


def texts_in(stack: Stack, user: FakeUser, start: str) -> list[str]:
    """The bot's messages in the user's chat starting with `start`, oldest first."""
    return [m.content for m in stack.tg.messages(user.id) if m.content.startswith(start)]


# --------------------------------------------------------------------------- top-ups


async def test_topup_invoice_payment_and_receipt(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Payer(quick, alice)
    packages = await j.packages()
    assert packages.buttons() == ["50 ⭐ → 100 💎", "100 ⭐ → 220 💎", "250 ⭐ → 600 💎", "500 ⭐ → 1300 💎"]
    invoice = await j.choose_package(100, 220)
    assert invoice.invoice is not None
    assert {k: invoice.invoice[k] for k in ("currency", "total_amount", "title")} == {
        "currency": "XTR", "total_amount": 100, "title": "220 💎"}
    charge = await j.pay(invoice)
    assert charge is not None
    receipt = await j.receipt(100, 220, 320)
    assert receipt.text == "✅ Payment received: 100 ⭐ → 220 💎.\nBalance: 320 💎."
    assert pre_checkout_answers(stack, alice) == [{"ok": True, "error_message": None}]
    assert await balance_of(stack, alice) == (320, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("topup", 220, 0)]
    await invariants(stack)


async def test_a_payment_delivered_twice_is_credited_once(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Payer(quick, alice)
    await j.packages()
    await j.choose_package(100, 220)
    assert await j.pay(deliver_twice=True) is not None
    await j.receipt(100, 220, 320)
    await all_handled(stack)  # the second successful_payment was handled too
    assert texts_in(stack, alice, "✅ Payment received") == ["✅ Payment received: 100 ⭐ → 220 💎.\nBalance: 320 💎."]
    assert await balance_of(stack, alice) == (320, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("topup", 220, 0)]
    await invariants(stack)


async def test_a_missed_payment_is_credited_once_by_reconciliation(quick: Stack, alice: FakeUser) -> None:
    stack, tg, j = quick, quick.tg, Payer(quick, alice)
    await j.packages()
    await j.choose_package(100, 220)
    charge = await j.pay(lost=True)  # Telegram took the Stars; the bot never got successful_payment
    assert charge is not None and len(tg.star_transactions) == 1
    await all_handled(stack)
    assert await balance_of(stack, alice) == (100, 0)

    await reconciled_at_start_up(stack)
    assert await balance_of(stack, alice) == (320, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("topup", 220, 0)]
    # Told like any top-up, in the language chosen with /language, else the default (ru).
    receipt = Texts("ru")("payment-receipt", stars=100, credits=220, balance=320)
    await j.wait("the receipt of the missed payment", lambda m: m.content == receipt)
    await invariants(stack)

    asked = len(tg.calls("getStarTransactions"))
    await reconciled_at_start_up(stack)  # a second restart: nothing more
    assert int(tg.calls("getStarTransactions")[asked].params.get("offset", 0)) == 1  # from its checkpoint
    assert await balance_of(stack, alice) == (320, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("topup", 220, 0)]
    await invariants(stack)


# --------------------------------------------------------------------------- refunds


async def test_admin_refund_once_and_not_when_the_balance_was_spent(quick: Stack, alice: FakeUser) -> None:
    stack, tg, j, admin = quick, quick.tg, Payer(quick, alice), Journey(quick, ADMIN)
    await choose_english(j)
    charge = await j.buy(100, 220, balance=320)

    await admin.command("/refund", charge)
    done = await admin.reply("Refunded")
    assert done.text == f"Refunded 100 ⭐ of payment {charge}: 220 💎 taken from user {alice.id}. Their balance: 100 💎."
    assert tg.charges[charge]["refunded"]
    await all_handled(stack)  # Telegram's refunded_payment message for the bot's own refund, too
    told = [m.content for m in tg.messages(alice.id) if m.content.startswith("↩️")]  # once, in her language
    assert told == ["↩️ A payment of 100 ⭐ was refunded: 220 💎 were taken from your balance.\nBalance: 100 💎."]
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("topup", 220, 0), ("refund", -220, 0)]

    await admin.command("/refund", charge)
    again = await admin.reply("This payment")
    assert again.text == "This payment has already been refunded."
    assert await balance_of(stack, alice) == (100, 0)

    spent = await j.buy(50, 100, balance=200)
    await video_confirmation(j)
    await j.generate(110)  # 200 → 90: the 100 💎 of the payment are no longer there
    await admin.command("/refund", spent)
    refused = await admin.reply("The user's balance")
    assert refused.text == "The user's balance no longer covers the 💎 of this payment: nothing was refunded."
    assert not tg.charges[spent]["refunded"]
    assert len(tg.calls("refundStarPayment")) == 1
    assert await balance_of(stack, alice) == (90, 0)
    await invariants(stack)


async def test_admin_refund_telegram_refused_or_did_not_answer(quick: Stack, alice: FakeUser) -> None:
    stack, tg, j, admin = quick, quick.tg, Payer(quick, alice), Journey(quick, ADMIN)
    await choose_english(j)
    charge = await j.buy(100, 220, balance=320)

    await admin.command("/refund", "stxNoSuchCharge")
    assert (await admin.reply("There is")).text == "There is no payment with this charge id."

    tg.fail_next("refundStarPayment", 400, "Bad Request: REFUND_FAILED")
    await admin.command("/refund", charge)
    rejected = await admin.reply("Telegram refused")
    assert rejected.text == "Telegram refused the refund (Bad Request: REFUND_FAILED). Nothing was taken from the balance."
    assert await balance_of(stack, alice) == (320, 0)  # taken, then given back

    tg.fail_next("refundStarPayment", 500, "Internal Server Error")
    await admin.command("/refund", charge)
    uncertain = await admin.reply("Telegram did not answer")
    assert "send the same /refund again" in uncertain.text
    assert await balance_of(stack, alice) == (100, 0)  # set aside until Telegram answers

    await admin.command("/refund", charge)  # the retry: no second debit
    await admin.reply("Refunded 100 ⭐")
    assert tg.charges[charge]["refunded"]
    await j.reply("↩️")
    await all_handled(stack)
    assert len(texts_in(stack, alice, "↩️")) == 1
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [
        ("bonus", 100, 0), ("topup", 220, 0), ("refund", -220, 0), ("refund_undo", 220, 0), ("refund", -220, 0)]
    await invariants(stack)


async def test_a_refund_made_outside_the_bot_debits_and_tells_the_user(quick: Stack, alice: FakeUser) -> None:
    stack, tg, j = quick, quick.tg, Payer(quick, alice)
    await choose_english(j)
    charge = await j.buy(100, 220, balance=320)
    await tg.refund_outside(alice, charge)
    told = await j.reply("↩️")
    assert told.text == "↩️ A payment of 100 ⭐ was refunded: 220 💎 were taken from your balance.\nBalance: 100 💎."
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("topup", 220, 0), ("refund", -220, 0)]

    # Partly spent: only what the balance still holds is taken, never below zero.
    partly = await j.buy(50, 100, balance=200)
    await video_confirmation(j)
    await j.generate(110)
    await tg.refund_outside(alice, partly)
    told = await j.reply("↩️")
    assert told.text == "↩️ A payment of 50 ⭐ was refunded: 90 💎 were taken from your balance.\nBalance: 0 💎."
    assert await balance_of(stack, alice) == (0, 0)
    await invariants(stack)


async def test_a_missed_payment_refunded_outside_before_reconciliation_credits_nothing(
        quick: Stack, alice: FakeUser) -> None:
    stack, tg, j = quick, quick.tg, Payer(quick, alice)
    await j.packages()
    await j.choose_package(50, 100)
    charge = await j.pay(lost=True)
    assert charge is not None
    await tg.refund_outside(alice, charge)  # the Stars went back before the bot ever booked the payment
    await all_handled(stack)
    assert not texts_in(stack, alice, "↩️")  # nothing was credited, so nothing is taken
    await reconciled_at_start_up(stack)
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0)]
    await invariants(stack)


# --------------------------------------------------------------------------- declines at pre-checkout


async def test_an_invoice_of_a_package_no_longer_sold_is_declined(quick: Stack, alice: FakeUser) -> None:
    stack, tg, j = quick, quick.tg, Payer(quick, alice)
    await j.packages()
    old = await j.choose_package(100, 220)
    stack.settings = stack.settings.model_copy(update={"stars_packages": ((100, 250), (300, 800))})
    await restart(stack)

    assert await j.pay(old) is None
    assert pre_checkout_answers(stack, alice) == [
        {"ok": False, "error_message": "The package has changed since this invoice. Open /topup and choose again."}]
    await all_handled(stack)
    assert tg.charges == {}
    assert await balance_of(stack, alice) == (100, 0)
    assert await ledger_of(stack, alice) == [("bonus", 100, 0)]

    packages = await j.packages()  # what is sold now
    assert packages.buttons() == ["100 ⭐ → 250 💎", "300 ⭐ → 800 💎"]
    await j.choose_package(100, 250)
    assert await j.pay() is not None
    await j.receipt(100, 250, 350)
    await invariants(stack)


async def test_a_banned_user_cannot_pay(quick: Stack) -> None:
    stack, tg, j = quick, quick.tg, Payer(quick, CAROL)
    await j.packages()
    invoice = await j.choose_package(50, 100)
    assert stack.app is not None
    async with stack.app.sessionmaker() as session:
        assert await user_repo.set_banned(session, CAROL.id, True)
        await session.commit()
    assert await j.pay(invoice) is None
    assert pre_checkout_answers(stack, CAROL) == [
        {"ok": False, "error_message": "Payments from this account are not accepted."}]
    await all_handled(stack)
    assert tg.charges == {}
    assert await ledger_of(stack, CAROL) == [("bonus", 100, 0)]
    await invariants(stack)


# --------------------------------------------------------------------------- the shortfall's package


async def test_shortfall_package_then_the_same_confirmation_comes_back(quick: Stack, alice: FakeUser) -> None:
    stack, j = quick, Payer(quick, alice)
    first = await video_confirmation(j)
    await j.press_confirm(110)
    refusal = await j.reply("Not enough balance")
    assert refusal.text == (
        "Not enough balance: you are 10 💎 short (balance: 100 💎). Nothing was started. Change the parameters or "
        "top up your balance.\nYou are 10 💎 short. The smallest package that covers it:")
    assert refusal.buttons() == ["⭐ Top up 100 💎 for 50 ⭐"]
    await j.tap("⭐ Top up 100 💎 for 50 ⭐", on=refusal)
    invoice = await j.invoice()
    assert invoice.invoice is not None and invoice.invoice["total_amount"] == 50
    assert await j.pay(invoice) is not None
    await j.receipt(50, 100, 200)
    await j.reply("Your form is still open")
    again = await j.confirmation()  # the same form, sent again: nothing to fill in
    assert again.message_id != first.message_id
    assert again.text.replace("Balance: 200 💎 → after: 90 💎", "") == (
        first.text.replace("Balance: 100 💎 → after: -10 💎\n⚠️ You are 10 💎 short.", ""))
    assert "Balance: 200 💎 → after: 90 💎" in again.text and "short" not in again.text
    done = await j.generate(110)
    assert done.text == "✅ Kling 2.6 Text-to-Video (#1): ready! Charged 110 💎.\nBalance: 90 💎."
    tasks = await stack.kie_tasks()
    assert len(tasks) == 1 and tasks[0]["input"]["prompt"] == "Waves on a beach"
    assert await ledger_of(stack, alice) == [
        ("bonus", 100, 0), ("topup", 100, 0), ("hold", -110, 110), ("charge", 0, -110)]
    await invariants(stack)


# --------------------------------------------------------------------------- promo codes


async def test_promo_code_by_command_and_by_link_until_used_up(quick: Stack, alice: FakeUser) -> None:
    stack, admin = quick, Journey(quick, ADMIN)
    await admin.command("/promo_new", "spring 30 2")
    created = await admin.reply("Promo code")
    assert created.text == "Promo code SPRING: 30 💎, up to 2 uses."

    a = Journey(stack, alice)
    await a.command("/promo", "SPRING")
    assert (await a.reply("🎁 Promo code")).text == "🎁 Promo code SPRING: +30 💎.\nBalance: 130 💎."
    await a.command("/promo", "spring")
    assert (await a.reply("You have")).text == "You have already used this promo code."

    c = Journey(stack, CAROL)  # a new user, by the link
    await c.command("/start", "promo_SPRING")
    assert (await c.reply("🎁 Promo code")).text == "🎁 Promo code SPRING: +30 💎.\nBalance: 130 💎."
    await c.shown("home")

    d = Journey(stack, DAVE)
    await d.command("/start", "promo_SPRING")
    assert (await d.reply("This promo code")).text == "This promo code has been used up."
    await d.shown("home")

    await admin.command("/promo_new", "summer-25 10 5")
    await admin.reply("Promo code SUMMER-25")
    await d.command("/start", "promo_summer-25")  # "-" is allowed in a code and in a start link
    assert (await d.reply("🎁 Promo code")).text == "🎁 Promo code SUMMER-25: +10 💎.\nBalance: 110 💎."
    await admin.command("/promo_off", "summer-25")
    assert (await admin.reply("Promo code")).text == "Promo code SUMMER-25 is switched off."
    e = Journey(stack, ERIN)
    await e.command("/promo", "SUMMER-25")
    assert (await e.reply("This promo code")).text == "This promo code has been switched off."

    await admin.command("/promo_list")
    listed = await admin.reply("SPRING")
    assert listed.text == "SPRING · 30 💎 · used 2 of 2\nSUMMER-25 · 10 💎 · used 1 of 5 · switched off"
    assert await balance_of(stack, alice) == (130, 0)
    assert await balance_of(stack, CAROL) == (130, 0)
    assert await ledger_of(stack, DAVE) == [("bonus", 100, 0), ("promo", 10, 0)]
    assert await ledger_of(stack, ERIN) == [("bonus", 100, 0)]
    assert [kind for kind, *_ in await ledger_of(stack, alice)] == ["bonus", "promo"]
    await invariants(stack)


# --------------------------------------------------------------------------- free tries


async def test_free_try_marked_free_charged_nothing_given_back_on_failure(tmp_path: Path, alice: FakeUser) -> None:
    async with running_stack(tmp_path, flood=relaxed_flood(), free_daily=1,
                             free_models=("google/nano-banana",)) as stack:
        j = Journey(stack, alice)
        await j.home()
        await j.tap("🎨 Create")
        await j.shown("choose-category")
        await j.tap("Images (")
        await j.shown("choose-task", category="Images")
        await j.tap("Text to image (")
        listed = await j.shown("choose-model", task="Text to image")
        labels = listed.buttons()
        while "🎁 Nano Banana — free today" not in labels and "▶" in listed.buttons():
            await j.tap("▶")
            listed = await j.shown("choose-model", task="Text to image")
            labels += listed.buttons()
        assert "🎁 Nano Banana — free today" in labels, labels
        assert sum("free today" in label for label in labels) == 1

        confirm = await image_confirmation(j, "A lighthouse")
        assert "🎁 Free today (1 left): nothing is held for this run." in confirm.text
        assert "Price" not in confirm.text and "✅ Confirm — free" in confirm.buttons()
        await confirm_free(j)
        done = await j.status("done-free")
        assert done.text == "✅ Nano Banana (#1): ready! It was a free try.\nBalance: 100 💎."
        assert await ledger_of(stack, alice) == [("bonus", 100, 0), ("free", 0, 0)]

        paid = await image_confirmation(j, "A second lighthouse")  # the day's try is used: this one is paid
        assert "Price: 8 💎" in paid.text and "free" not in paid.text.lower()
        await j.generate(8)
        assert await ledger_of(stack, alice) == [
            ("bonus", 100, 0), ("free", 0, 0), ("hold", -8, 8), ("charge", 0, -8)]

        c = Journey(stack, CAROL)  # a free run that fails gives the try back
        await image_confirmation(c, "Something the model refuses")
        await stack.kie_control("task-outcome", {"outcome": "fail", "fail_msg": "internal error"})
        await confirm_free(c)
        failed = await c.status("failed-free")
        assert failed.text.endswith("\nYour free try is back.\nBalance: 100 💎."), failed.text
        assert await ledger_of(stack, CAROL) == [("bonus", 100, 0), ("free", 0, 0), ("free_back", 0, 0)]
        again = await image_confirmation(c, "A lighthouse")
        assert "🎁 Free today (1 left)" in again.text
        await invariants(stack)


# --------------------------------------------------------------------------- referrals


async def test_referral_bonus_once_to_both_and_not_to_self_or_old_users(
        quick: Stack, alice: FakeUser, boris: FakeUser) -> None:
    stack = quick
    a = Journey(stack, alice)
    await a.home()
    await choose_english(a)

    b = Payer(stack, boris)  # Russian; Alice reads English
    await b.command("/start", f"ref_{alice.id}")
    await b.shown("home")
    await b.buy(100, 220, balance=370)  # 100 + 220 + the 50 💎 bonus
    await b.reply("🎁 Бонус за приглашение")
    told = await a.reply("🎁 Referral bonus")  # in her language, not the payer's
    assert told.text == "🎁 Referral bonus: 50 💎 for a friend's first top-up. Balance: 150 💎."
    await b.buy(50, 100, balance=470)  # a second payment: no bonus
    await all_handled(stack)
    assert len(texts_in(stack, boris, "🎁 Бонус за приглашение")) == 1
    assert len(texts_in(stack, alice, "🎁 Referral bonus")) == 1

    c = Payer(stack, CAROL)  # invites herself
    await c.command("/start", f"ref_{CAROL.id}")
    await c.shown("home")
    await c.buy(50, 100, balance=200)

    d = Payer(stack, DAVE)  # had used the bot before the link
    await d.home()
    await d.command("/start", f"ref_{alice.id}")
    await d.shown("home")
    await d.buy(50, 100, balance=200)
    await all_handled(stack)

    assert await balance_of(stack, alice) == (150, 0)
    assert await balance_of(stack, boris) == (470, 0)
    assert not texts_in(stack, CAROL, "🎁 Referral") and not texts_in(stack, DAVE, "🎁 Referral")
    assert len(texts_in(stack, alice, "🎁 Referral bonus")) == 1
    assert [kind for kind, *_ in await ledger_of(stack, CAROL)] == ["bonus", "topup"]
    assert [kind for kind, *_ in await ledger_of(stack, DAVE)] == ["bonus", "topup"]
    await invariants(stack)


# --------------------------------------------------------------------------- low balance


async def test_low_balance_notice_once_per_crossing(tmp_path: Path, alice: FakeUser) -> None:
    async with running_stack(tmp_path, flood=relaxed_flood(), low_balance_threshold=95) as stack:
        j = Payer(stack, alice)
        low = "⚠️ Your balance is low"
        await image_confirmation(j, "A first picture")
        await j.confirm(8)  # 100 → 92: below 95
        notice = await j.reply(low)
        assert notice.text == "⚠️ Your balance is low: 92 💎. Top up with /topup to keep creating."
        await j.result()

        await image_confirmation(j, "A second picture")
        await j.generate(8)  # 92 → 84: still below, no second notice
        await all_handled(stack)
        assert len(texts_in(stack, alice, low)) == 1

        await j.buy(50, 100, balance=184)  # back above the threshold...
        await video_confirmation(j)
        await j.confirm(110)  # ...and below again: 74
        again = await j.reply(low)
        assert again.text == "⚠️ Your balance is low: 74 💎. Top up with /topup to keep creating."
        await j.result()
        await all_handled(stack)
        assert len(texts_in(stack, alice, low)) == 2
        await invariants(stack)


# --------------------------------------------------------------------------- a swapped audio file (defect 1)


async def test_a_swapped_audio_is_priced_by_its_real_length(quick: Stack) -> None:
    stack, j = quick, Journey(quick, ERIN)
    await j.open_model("infinitalk-from-audio")
    await j.answer_photo()
    await j.send_audio(duration=1)  # a real 1 s WAV
    await j.step(3)
    await j.answer_text("A friendly greeting")
    confirm = await j.defaults_for_the_rest()
    assert "Price: 6 💎" in confirm.text, confirm.text  # 1 s × 3 credits × markup 2

    await j.edit("✏️ Audio")
    await j.send_document(make_wav(600, rate=1000), "long.wav", "audio/x-wav")  # no length in the message
    refused = await j.reply("The file is")
    assert refused.text.startswith("The file is 600 s long; this model takes at most 15 s."), refused.text
    await j.step(2)  # asked again

    await j.send_document(make_wav(12, rate=1000), "twelve.wav", "audio/x-wav")
    swapped = await j.confirmation()
    assert "Price: 72 💎" in swapped.text, swapped.text  # 12 s, measured from the bytes

    await j.edit("✏️ Audio")
    await j.tg.send_audio(j.user, make_wav(14, rate=1000), duration=1)  # the client claims 1 s; the file holds 14 s
    forged = await j.confirmation()
    assert "Price: 84 💎" in forged.text, forged.text
    await j.generate(84)
    assert await ledger_of(stack, ERIN) == [("bonus", 100, 0), ("hold", -84, 84), ("charge", 0, -84)]
    await invariants(stack)
