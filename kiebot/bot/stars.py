"""Telegram Stars as the money service needs them (`services.stars.StarsGateway`), over the Bot API."""
from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import TransactionPartnerUser

from kiebot.services.stars import StarsRefundRejected, StarTransaction


class TelegramStars:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def star_transactions(self, offset: int, limit: int) -> Sequence[StarTransaction]:
        found = await self.bot.get_star_transactions(offset=offset, limit=limit)
        return [_plain(t) for t in found.transactions]

    async def refund(self, user_id: int, charge_id: str) -> None:
        try:
            await self.bot.refund_star_payment(user_id=user_id, telegram_payment_charge_id=charge_id)
        except TelegramBadRequest as exc:  # Telegram said no (e.g. CHARGE_ALREADY_REFUNDED): a definite answer
            raise StarsRefundRejected(exc.message) from exc


def _plain(transaction: object) -> StarTransaction:
    source, receiver = getattr(transaction, "source", None), getattr(transaction, "receiver", None)
    partner = source or receiver
    user_id = partner.user.id if isinstance(partner, TransactionPartnerUser) else None
    payload = getattr(partner, "invoice_payload", None)
    return StarTransaction(id=transaction.id, amount=transaction.amount, date=transaction.date,  # type: ignore[attr-defined]
                           user_id=user_id, incoming=source is not None, payload=payload)
