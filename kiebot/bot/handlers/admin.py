"""Operator commands (ADMIN_IDS only)."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.bot.i18n import Translate
from kiebot.store import wallet
from kiebot.store.models import LedgerKind, User

MAX_GRANT = 10_000_000


def router() -> Router:
    r = Router(name="admin")
    r.message.register(on_grant, Command("grant"))
    return r


async def on_grant(message: Message, command: CommandObject, session: AsyncSession, is_admin: bool,
                   tr: Translate) -> None:
    """/grant <user_id> <amount>: credit a user's balance."""
    if not is_admin:
        await message.answer(tr("admin-only"))
        return
    parts = (command.args or "").split()
    if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit() or not 0 < int(parts[1]) <= MAX_GRANT:
        await message.answer(tr("grant-usage", max=MAX_GRANT))
        return
    user_id, amount = int(parts[0]), int(parts[1])
    if await session.get(User, user_id) is None:
        await message.answer(tr("grant-no-user", user_id=user_id))
        return
    key = f"grant:{message.chat.id}:{message.message_id}"  # a re-delivered update grants once
    await wallet.credit(session, user_id, amount, LedgerKind.GRANT, key, note=f"by {message.from_user.id if message.from_user else '?'}")
    balance, _ = await wallet.get_balance(session, user_id)
    await message.answer(tr("granted", user_id=user_id, amount=amount, balance=balance))
