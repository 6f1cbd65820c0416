"""Operator commands (ADMIN_IDS only): grants, refunds, a user's ledger, promo codes, the figures (/stats)."""
from __future__ import annotations

from contextlib import suppress

from aiogram import Bot, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from kiebot.bot import ui
from kiebot.bot.i18n import Translate, Translator
from kiebot.bot.screens import stats as screens
from kiebot.bot.stars import TelegramStars
from kiebot.catalog import Catalog
from kiebot.services.account import MAX_GRANT, AccountService
from kiebot.services.money import MoneyService
from kiebot.services.promo import PromoError
from kiebot.services.stars import RefundError
from kiebot.services.stats import StatsService

COMMANDS = ("grant", "refund", "ledger", "promo_new", "promo_list", "promo_off", "stats")


def router() -> Router:
    r = Router(name="admin")
    r.message.register(admin_only, Command(*COMMANDS), _not_admin)
    r.message.register(on_grant, Command("grant"))
    r.message.register(on_refund, Command("refund"))
    r.message.register(on_ledger, Command("ledger"))
    r.message.register(on_promo_new, Command("promo_new"))
    r.message.register(on_promo_list, Command("promo_list"))
    r.message.register(on_promo_off, Command("promo_off"))
    r.message.register(on_stats, Command("stats"))
    return r


async def _not_admin(message: Message, is_admin: bool = False) -> bool:
    return not is_admin


async def admin_only(message: Message, tr: Translate) -> None:
    await message.answer(tr("admin-only"))


async def on_grant(message: Message, command: CommandObject, bot: Bot, accounts: AccountService, tr: Translate,
                   translator: Translator) -> None:
    """/grant <user_id> <amount>: credit a user's balance; they are told what came and what they have now."""
    parts = (command.args or "").split()
    if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit() or not 0 < int(parts[1]) <= MAX_GRANT:
        await message.answer(tr("grant-usage", max=MAX_GRANT))
        return
    user_id, amount = int(parts[0]), int(parts[1])
    by = message.from_user.id if message.from_user else 0
    # The command's own message id makes a re-delivered update grant once.
    result = await accounts.grant(user_id, amount, key=f"grant:{message.chat.id}:{message.message_id}", by=by)
    if not result.granted:
        await message.answer(tr("grant-no-user", user_id=user_id))
        return
    await message.answer(tr("granted", user_id=user_id, amount=amount, balance=result.balance))
    lang = await accounts.language_of(user_id) or translator.default_language
    told = translator.get(lang, "granted-user", amount=amount, balance=result.balance)
    await bot.send_message(user_id, told)


async def on_refund(message: Message, command: CommandObject, bot: Bot, money: MoneyService, accounts: AccountService,
                    tr: Translate, translator: Translator) -> None:
    """/refund <charge_id>: the Stars go back to the payer and their 💎 leave the balance; the payer is told."""
    charge_id = (command.args or "").strip()
    if not charge_id:
        await message.answer(tr("refund-usage"))
        return
    try:
        done = await money.refund(TelegramStars(bot), charge_id)
    except RefundError as exc:
        await message.answer(tr(f"refund-error-{exc.code}", detail=exc.detail or ""))
        return
    await message.answer(tr("refund-done", stars=done.stars, charge=charge_id, debited=done.debited,
                            user_id=done.user_id, balance=done.balance))
    # Telegram's refunded_payment message for this refund finds it booked and tells nothing (payments.refunded).
    lang = await accounts.language_of(done.user_id) or translator.default_language
    told = translator.get(lang, "refunded-outside", stars=done.stars, debited=done.debited, balance=done.balance)
    with suppress(TelegramForbiddenError):  # they blocked the bot: the refund is done all the same
        await bot.send_message(done.user_id, told)


async def on_ledger(message: Message, command: CommandObject, money: MoneyService, tr: Translate) -> None:
    """/ledger <user_id>: every movement of the user's balance, as a CSV file."""
    arg = (command.args or "").strip()
    if not arg.isdigit():
        await message.answer(tr("ledger-usage"))
        return
    csv_text = await money.ledger_csv(int(arg))
    document = BufferedInputFile(csv_text.encode("utf-8"), filename=f"ledger-{arg}.csv")
    await message.answer_document(document, caption=tr("ledger-caption", user_id=int(arg)))


async def on_promo_new(message: Message, command: CommandObject, money: MoneyService, tr: Translate) -> None:
    """/promo_new CODE AMOUNT [USES] [DAYS]"""
    by = message.from_user.id if message.from_user else 0
    try:
        spec = await money.create_promo(command.args or "", created_by=by)
    except PromoError as exc:
        await message.answer(tr(f"promo-error-{exc.code}"))
        return
    await message.answer(tr("promo-created", code=spec.code, amount=spec.amount, uses=spec.max_uses,
                            days=spec.days or 0))


async def on_promo_list(message: Message, money: MoneyService, tr: Translate) -> None:
    codes = await money.promo_codes()
    lines = [tr("promo-line", code=c.code, amount=c.amount, uses=c.uses, max=c.max_uses,
                state="off" if c.disabled else "on") for c in codes]
    await message.answer("\n".join(lines) or tr("promo-list-empty"))


async def on_promo_off(message: Message, command: CommandObject, money: MoneyService, tr: Translate) -> None:
    code = (command.args or "").strip()
    if not code:
        await message.answer(tr("promo-off-usage"))
        return
    try:
        await money.disable_promo(code)
    except PromoError as exc:
        await message.answer(tr(f"promo-error-{exc.code}"))
        return
    await message.answer(tr("promo-switched-off", code=code.upper()))


async def on_stats(message: Message, stats: StatsService, catalog: Catalog, tr: Translate, lang: str) -> None:
    """/stats: users, generations, money and the KIE account, in one message."""
    await ui.show(message, screens.stats(tr, lang, catalog, await stats.snapshot()), edit=False)
