"""The balance, Stars top-ups (invoice → pre-checkout → payment → receipt), refunds made outside the bot, promo codes,
and the pages Telegram requires of bots that take payments (/paysupport, /terms)."""
from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery

from kiebot.bot import ui
from kiebot.bot.callbacks import MenuAction, MenuCB, TopupCB
from kiebot.bot.drafts import FormFilter, OpenForm
from kiebot.bot.filters import Magic
from kiebot.bot.i18n import Translate, Translator
from kiebot.bot.screens import menu as menu_screens
from kiebot.bot.screens import money as screens
from kiebot.bot.screens.menu import notice
from kiebot.config import Settings
from kiebot.services import stars
from kiebot.services.account import AccountService, Profile
from kiebot.services.money import MoneyService
from kiebot.services.promo import PromoError
from kiebot.services.referrals import ReferralError


def router() -> Router:
    r = Router(name="payments")
    # A code may hold "-" (promo.CODE_PATTERN), which Telegram allows in a start parameter too.
    r.message.register(start_with_promo, CommandStart(magic=F.args.regexp(r"^promo_[\w-]+$")))
    r.message.register(start_with_referral, CommandStart(magic=F.args.regexp(r"^ref_\d+$")))
    r.message.register(on_balance, Command("balance"))
    r.callback_query.register(balance, MenuCB.filter(F.action == MenuAction.BALANCE))
    r.message.register(on_topup, Command("topup"))
    r.callback_query.register(topup, MenuCB.filter(F.action == MenuAction.TOPUP))
    r.callback_query.register(invoice, TopupCB.filter())
    r.pre_checkout_query.register(pre_checkout)
    r.message.register(paid_with_form, Magic(F.successful_payment), FormFilter())
    r.message.register(paid, Magic(F.successful_payment))
    r.message.register(refunded, Magic(F.refunded_payment))
    r.message.register(on_promo, Command("promo"))
    r.message.register(on_paysupport, Command("paysupport"))
    r.message.register(on_terms, Command("terms"))
    return r


async def _balance_screen(bot: Bot, money: MoneyService, user: Profile, tr: Translate, *, with_home: bool):
    view = await money.balance_view(user.id)
    link = f"https://t.me/{(await bot.me()).username}?start={view.referral_payload}"
    return screens.balance(tr, view, link=link, referral_bonus=money.referral_bonus, with_home=with_home)


async def on_balance(message: Message, bot: Bot, money: MoneyService, user: Profile, tr: Translate) -> None:
    await ui.show(message, await _balance_screen(bot, money, user, tr, with_home=False), edit=False)


async def balance(query: CallbackQuery, bot: Bot, money: MoneyService, user: Profile, tr: Translate) -> None:
    screen = await _balance_screen(bot, money, user, tr, with_home=True)
    await query.answer()
    await ui.show(query, screen, edit=True)


async def on_topup(message: Message, money: MoneyService, tr: Translate) -> None:
    await ui.show(message, screens.packages(tr, money.packages), edit=False)


async def topup(query: CallbackQuery, money: MoneyService, tr: Translate) -> None:
    await query.answer()
    await ui.show(query, screens.packages(tr, money.packages), edit=False)


async def invoice(query: CallbackQuery, callback_data: TopupCB, bot: Bot, money: MoneyService, tr: Translate) -> None:
    package = money.package(callback_data.stars)
    if package is None or query.message is None:  # the packages changed since the button was shown
        await query.answer(tr("decline-unknown-package"), show_alert=True)
        return
    bill = stars.invoice_for(package)
    await query.answer()
    await bot.send_invoice(query.message.chat.id, title=tr("invoice-title", credits=bill.credits),
                           description=tr("invoice-description", credits=bill.credits), payload=bill.payload,
                           currency=bill.currency, prices=[LabeledPrice(label=tr("invoice-title", credits=bill.credits),
                                                                        amount=bill.stars)])


async def pre_checkout(query: PreCheckoutQuery, money: MoneyService, translator: Translator) -> None:
    """Answered at once (Telegram waits 10 s at most) after checking only the package and the user."""
    verdict = await money.pre_checkout(query.from_user.id, query.invoice_payload, query.currency, query.total_amount)
    if verdict.ok:
        await query.answer(ok=True)
        return
    lang = translator.resolve_language(None, query.from_user.language_code)
    await query.answer(ok=False, error_message=translator.get(lang, f"decline-{verdict.reason}"))


async def paid(message: Message, bot: Bot, money: MoneyService, accounts: AccountService, translator: Translator,
               tr: Translate) -> None:
    """Credited once per charge id, whatever Telegram repeats; the receipt says what came and what there is now."""
    payment = message.successful_payment
    assert payment is not None and message.from_user is not None
    receipt = await money.record_payment(message.from_user.id, payment.telegram_payment_charge_id,
                                         payment.total_amount, payment.invoice_payload)
    if receipt.duplicate:
        return
    await message.answer(tr("payment-receipt", stars=receipt.stars, credits=receipt.credited, balance=receipt.balance))
    reward = receipt.referral
    if reward is not None:
        await message.answer(tr("referral-reward", bonus=reward.bonus, balance=receipt.balance))
        referrer_balance = await money.balance_of(reward.referrer_id)
        # The referrer reads it in their own language, not in the payer's.
        referrer_tr = translator.bind(await accounts.language_of(reward.referrer_id) or translator.default_language)
        await bot.send_message(reward.referrer_id,
                               referrer_tr("referral-reward", bonus=reward.bonus, balance=referrer_balance))


async def paid_with_form(message: Message, bot: Bot, money: MoneyService, accounts: AccountService,
                         translator: Translator, form: OpenForm) -> None:
    """Paid while a form is open (a shortfall at its confirmation): the same form comes back with the new balance,
    ready to confirm — nothing to fill in again."""
    await paid(message, bot, money, accounts, translator, form.tr)
    if form.draft.at_confirmation:
        await message.answer(form.tr("payment-form-open"))
        await ui.show(message, await form.screen(), edit=False)


async def refunded(message: Message, money: MoneyService, accounts: AccountService, translator: Translator) -> None:
    """A refund Telegram made (support, or our own /refund): booked once. The notice comes from the bot itself, so the
    payer is the chat. Our own /refund tells the payer itself: here it is already booked (a duplicate), or, when this
    message overtakes the command, finished without taking anything more — nothing to tell either way."""
    refund = message.refunded_payment
    assert refund is not None
    payer = message.chat.id
    booked = await money.record_outside_refund(payer, refund.telegram_payment_charge_id, refund.total_amount)
    if booked.duplicate or not (booked.debited or booked.uncovered):
        return
    balance_now = await money.balance_of(payer)
    tr = translator.bind(await accounts.language_of(payer) or translator.default_language)
    await message.answer(tr("refunded-outside", stars=refund.total_amount, debited=booked.debited, balance=balance_now))


async def on_promo(message: Message, command: CommandObject, money: MoneyService, user: Profile,
                   tr: Translate) -> None:
    code = (command.args or "").strip()
    if not code:
        await message.answer(tr("promo-usage"))
        return
    await message.answer(await redeem(money, user, code, tr))


async def redeem(money: MoneyService, user: Profile, code: str, tr: Translate) -> str:
    try:
        done = await money.redeem(user.id, code)
    except PromoError as exc:
        return tr(f"promo-error-{exc.code}")
    return tr("promo-redeemed", code=done.code, amount=done.amount, balance=done.balance)


async def start_with_promo(message: Message, command: CommandObject, state: FSMContext, money: MoneyService,
                           accounts: AccountService, settings: Settings, user: Profile, tr: Translate) -> None:
    """`/start promo_<CODE>`: the code is redeemed, then the main menu."""
    await _welcome(message, state, settings, user, tr)
    await message.answer(await redeem(money, user, (command.args or "").removeprefix("promo_"), tr))
    await ui.show(message, menu_screens.home(tr, await accounts.get(user.id)), edit=False)


async def start_with_referral(message: Message, command: CommandObject, state: FSMContext, money: MoneyService,
                              accounts: AccountService, settings: Settings, user: Profile, tr: Translate) -> None:
    """`/start ref_<id>`: a new user is attached to whoever invited them (both get the bonus on the first top-up).
    Anyone else — an old user, the inviter themself — just gets the main menu."""
    await _welcome(message, state, settings, user, tr)
    try:
        await money.attach_referrer(user.id, command.args or "", new_user=user.created)
    except ReferralError:
        pass
    await ui.show(message, menu_screens.home(tr, await accounts.get(user.id)), edit=False)


async def _welcome(message: Message, state: FSMContext, settings: Settings, user: Profile, tr: Translate) -> None:
    await state.clear()
    if user.created and settings.welcome_bonus:
        await message.answer(tr("welcome-bonus", bonus=settings.welcome_bonus))


async def on_paysupport(message: Message, tr: Translate) -> None:
    await ui.show(message, notice(tr("paysupport")), edit=False)


async def on_terms(message: Message, tr: Translate) -> None:
    await ui.show(message, notice(tr("terms")), edit=False)
