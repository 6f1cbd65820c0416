"""Putting a screen in front of the user: edit the message in place, or send a new one.

"Message is not modified" (an identical edit) means the screen is already right: success, in one place for
handlers and for the engine's notifier alike.
"""
from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from kiebot.bot.screens import Screen


def _not_modified(exc: TelegramBadRequest) -> bool:
    return "message is not modified" in exc.message


async def show(target: Message | CallbackQuery, screen: Screen, *, edit: bool) -> None:
    """`edit`: replace the pressed message (callbacks only); otherwise send a new message to the same chat."""
    message = target.message if isinstance(target, CallbackQuery) else target
    if not isinstance(message, Message):  # a callback on a message too old for Telegram to hand over
        return
    if edit and isinstance(target, CallbackQuery):
        await edit_message(message.bot, message.chat.id, message.message_id, screen)  # type: ignore[arg-type]
    else:
        await message.answer(screen.text, reply_markup=screen.markup)


async def edit_message(bot: Bot, chat_id: int, message_id: int, screen: Screen) -> None:
    try:
        await bot.edit_message_text(text=screen.text, chat_id=chat_id, message_id=message_id,
                                    reply_markup=screen.markup)
    except TelegramBadRequest as exc:
        if not _not_modified(exc):
            raise


async def edit_or_send(bot: Bot, chat_id: int, message_id: int | None, screen: Screen) -> int:
    """Edit message `message_id`, or send the screen anew when there is none or it is gone. Returns the message id."""
    if message_id is not None:
        try:
            await edit_message(bot, chat_id, message_id, screen)
            return message_id
        except TelegramBadRequest as exc:
            if "not found" not in exc.message and "can't be edited" not in exc.message:
                raise
    sent = await bot.send_message(chat_id, screen.text, reply_markup=screen.markup)
    return sent.message_id
