"""Operator commands (ADMIN_IDS only)."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from kiebot.bot.i18n import Translate
from kiebot.services.account import MAX_GRANT, AccountService


def router() -> Router:
    r = Router(name="admin")
    r.message.register(on_grant, Command("grant"))
    return r


async def on_grant(message: Message, command: CommandObject, accounts: AccountService, is_admin: bool,
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
    by = message.from_user.id if message.from_user else 0
    # The command's own message id makes a re-delivered update grant once.
    result = await accounts.grant(user_id, amount, key=f"grant:{message.chat.id}:{message.message_id}", by=by)
    if not result.granted:
        await message.answer(tr("grant-no-user", user_id=user_id))
        return
    await message.answer(tr("granted", user_id=user_id, amount=amount, balance=result.balance))
