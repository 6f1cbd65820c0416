"""The user's side of the fake Telegram: what a test does (send a text, a command, a photo, press a button,
pay) and how it waits for what the bot shows in return.

Waits look at message events (``TelegramState.events``): a message sent or edited *after* a point, as it was at
that moment. By default the point is the user's latest action in the chat, so nothing the bot showed before that
action can match.
"""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from kiebot.kie.fakemedia import make_mp4, make_wav

from .telegram_limits import utf16_len
from .telegram_state import STARS, FakeMessage, PendingQuery, TelegramState, media_meta

T = TypeVar("T")
JSON = dict[str, Any]


@dataclass(frozen=True)
class FakeUser:
    id: int
    first_name: str = "Test"
    language_code: str | None = "en"
    username: str | None = None
    last_name: str | None = None

    def as_user(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

    def as_chat(self) -> JSON:
        data: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class FakeGroup:
    """A group chat users write in (Telegram's group ids are negative)."""

    id: int
    title: str = "Friends"

    def as_chat(self) -> JSON:
        return {"id": self.id, "type": "supergroup", "title": self.title}


class HasMessageId(Protocol):
    message_id: int


class UserDriver:
    """Users acting in their private chats with the bot (or writing in a group), and waits for the bot's answers."""

    def __init__(self, state: TelegramState) -> None:
        self.state = state
        self._last_action: dict[int, int] = {}  # chat → the event cursor when the user last acted

    # ----------------------------------------------------------------- messages from the user

    def _user_message(self, user: FakeUser, *, deliver: bool = True, group: FakeGroup | None = None,
                      **content: Any) -> JSON:
        """A message from the user, in their private chat or in ``group``; ``deliver=False``: it exists, but the
        bot never gets the update."""
        chat = group.as_chat() if group else user.as_chat()
        self.state.chats[chat["id"]] = chat
        message_id = self.state.allocate_message_id(chat["id"])
        self.state.user_messages.add((chat["id"], message_id))
        self._last_action[chat["id"]] = self.state.cursor
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat,
                   "from": user.as_user(), **content}
        if deliver:
            self.state.queue_update("message", message)
        else:
            self.state.touch()
        return message

    async def send_text(self, user: FakeUser, text: str, *, entities: list[JSON] | None = None,
                        group: FakeGroup | None = None) -> JSON:
        """The user sends a text message (in ``group``, else privately); returns the Message object queued."""
        return self._user_message(user, group=group, text=text, **({"entities": entities} if entities else {}))

    async def send_command(self, user: FakeUser, command: str, args: str | None = None, *,
                           group: FakeGroup | None = None) -> JSON:
        """The user sends ``/command [args]`` (with a bot_command entity), in ``group`` or privately."""
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {args}" if args else command
        entity = {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
        return await self.send_text(user, text, entities=[entity], group=group)

    async def register_file(self, data: bytes, size: int | None = None, *, kind: str = "document",
                            file_name: str = "file.bin", mime: str = "application/octet-stream",
                            **meta: Any) -> str:
        """Store a file as if a user had sent it; ``size`` may claim more than ``len(data)``."""
        file_meta = media_meta(kind, meta, file_name, mime)
        return self.state.new_file(kind, data, size, file_meta, file_name).file_id

    async def _user_media(self, user: FakeUser, kind: str, data: bytes, caption: str | None,
                          size: int | None, **meta: Any) -> JSON:
        file_id = await self.register_file(data, size, kind=kind, **meta)
        content: JSON = {kind: self.state.files[file_id].api_object()}
        if caption:
            content["caption"] = caption
        return self._user_message(user, **content)

    async def send_photo(self, user: FakeUser, png_bytes: bytes | None = None, *, width: int = 1280,
                         height: int = 720, caption: str | None = None) -> JSON:
        """The user sends a photo (several PhotoSize entries; the largest holds the bytes)."""
        if png_bytes is not None:  # real dimensions come from the image itself
            return await self._user_media(user, "photo", png_bytes, caption, None)
        data = make_png(width, height)
        return await self._user_media(user, "photo", data, caption, None, width=width, height=height)

    async def send_document(self, user: FakeUser, data: bytes, file_name: str = "file.bin",
                            mime: str = "application/octet-stream", *, caption: str | None = None,
                            size: int | None = None) -> JSON:
        return await self._user_media(user, "document", data, caption, size,
                                      file_name=file_name, mime=mime)

    async def send_video(self, user: FakeUser, data: bytes | None = None, duration: int = 5, *,
                         width: int = 640, height: int = 360, caption: str | None = None,
                         size: int | None = None) -> JSON:
        """A real (tiny) MP4 of `duration` seconds unless `data` is given: the bot measures the bytes."""
        data = make_mp4(width, height, duration) if data is None else data
        return await self._user_media(user, "video", data, caption, size, duration=duration,
                                      width=width, height=height, file_name="video.mp4", mime="video/mp4")

    async def send_audio(self, user: FakeUser, data: bytes | None = None, duration: int = 5, *,
                         caption: str | None = None, size: int | None = None) -> JSON:
        """A real WAV of `duration` seconds unless `data` is given: the bot measures the bytes."""
        data = make_wav(duration, rate=1000) if data is None else data
        return await self._user_media(user, "audio", data, caption, size, duration=duration,
                                      file_name="audio.wav", mime="audio/wav")

    async def send_voice(self, user: FakeUser, data: bytes = b"OggS" + b"\x00" * 1020,
                         duration: int = 3, *, size: int | None = None) -> JSON:
        return await self._user_media(user, "voice", data, None, size, duration=duration,
                                      file_name="voice.oga", mime="audio/ogg")

    async def send_sticker(self, user: FakeUser, emoji: str = "👍") -> JSON:
        return await self._user_media(user, "sticker", b"RIFF\x00\x00\x00\x00WEBP", None, None,
                                      emoji=emoji, file_name="sticker.webp", mime="image/webp")

    # ----------------------------------------------------------------- buttons

    async def press(self, user: FakeUser, message: FakeMessage | HasMessageId | int,
                    callback_data: str) -> str:
        """The user presses an inline button of ``message``; returns the callback query id.

        ``message`` may be a FakeMessage (or a snapshot of one), an aiogram Message or a message_id; the
        bot receives the message as it is now.
        """
        message_id = message if isinstance(message, int) else message.message_id
        live = self.state.message(user.id, message_id)
        if live is None:
            raise AssertionError(f"the bot sent no message {message_id} to chat {user.id}")
        if live.deleted:
            raise AssertionError(f"message {message_id} was deleted; nothing to press")
        self.state.chats[user.id] = user.as_chat()
        query_id = str(secrets.randbits(62))
        self.state.queries[query_id] = PendingQuery(user.id, self.state.clock())
        self._last_action[user.id] = self.state.cursor
        self.state.queue_update("callback_query", {
            "id": query_id, "from": user.as_user(), "message": self.state.message_object(live),
            "chat_instance": str(user.id * 7919), "data": callback_data})
        return query_id

    async def click(self, user: FakeUser, text: str, *, message: FakeMessage | None = None) -> str | JSON:
        """Press the button labelled ``text`` (exact, else unique substring).

        Looks at ``message`` or the latest bot message with an inline keyboard, then at the
        latest reply keyboard. An inline button → callback query id; a reply button → the
        text message sent.
        """
        candidates = [message] if message else self._keyboard_messages(user.id)
        for candidate in candidates:
            if any(text in label for label in candidate.buttons()):
                button = candidate.find_button(text)
                if candidate.has_reply_keyboard:
                    return await self.send_text(user, button["text"])
                if "callback_data" not in button:
                    raise AssertionError(f"button {button['text']!r} has no callback_data: {button}")
                return await self.press(user, candidate, button["callback_data"])
        available = {m.message_id: m.buttons() for m in candidates}
        raise AssertionError(f"no button {text!r} in chat {user.id}; buttons by message: {available}")

    def _keyboard_messages(self, chat_id: int) -> list[FakeMessage]:
        """The latest inline keyboard, then the reply keyboard still shown (if not removed)."""
        live = self.state.messages(chat_id)
        inline = [m for m in live if m.has_inline_keyboard][-1:]
        reply = [m for m in live if m.has_reply_keyboard or (m.reply_markup or {}).get("remove_keyboard")]
        return inline + [m for m in reply[-1:] if m.has_reply_keyboard]

    # ----------------------------------------------------------------- payments

    async def pay(self, user: FakeUser, invoice: FakeMessage | None = None, *,
                  timeout: float = 10.0, deliver_twice: bool = False, lost: bool = False) -> str | None:
        """The user pays an invoice (default: the latest in their chat).

        Queues a pre_checkout_query, waits for the bot's answer, then (if ok) the
        successful_payment message; ``deliver_twice`` repeats it as Telegram may. ``lost``: the payment goes
        through (the charge exists, and a Stars one is in getStarTransactions) but the successful_payment update
        never reaches the bot, as when it crashed after confirming the update.
        Returns the telegram_payment_charge_id, or None if the bot declined.
        """
        if lost and deliver_twice:
            raise ValueError("a lost payment is delivered no times, not twice")
        invoice = invoice or next((m for m in reversed(self.state.messages(user.id)) if m.invoice), None)
        if invoice is None or invoice.invoice is None:
            raise AssertionError(f"no invoice in chat {user.id}")
        details = invoice.invoice
        query_id = str(secrets.randbits(62))
        query = self.state.pre_checkouts[query_id] = PendingQuery(user.id, self.state.clock())
        self.state.queue_update("pre_checkout_query", {
            "id": query_id, "from": user.as_user(), "currency": details["currency"],
            "total_amount": details["total_amount"], "invoice_payload": details["payload"]})
        try:
            await self.wait_for(lambda: query.answered, timeout)
        except AssertionError:
            raise AssertionError(f"pre_checkout_query not answered within {timeout}s") from None
        if not (query.answer or {}).get("ok"):
            return None
        return self._successful_payment(user, details, deliver_twice, lost=lost)

    def _successful_payment(self, user: FakeUser, details: JSON, deliver_twice: bool, *,
                            lost: bool = False) -> str:
        charge_id = f"stxFake{secrets.token_hex(12)}"
        payment = {"currency": details["currency"], "total_amount": details["total_amount"],
                   "invoice_payload": details["payload"], "telegram_payment_charge_id": charge_id,
                   "provider_payment_charge_id": ""}
        self.state.record_charge(user.as_user(), payment)
        message = self._user_message(user, deliver=not lost, successful_payment=payment)
        if deliver_twice:
            self.state.queue_update("message", message)
        return charge_id

    async def refund_outside(self, user: FakeUser, charge_id: str) -> JSON:
        """A refund made outside the bot (e.g. by Telegram support): the charge is refunded, an outgoing Star
        transaction is added and the bot gets a ``refunded_payment`` message in the user's chat (returned)."""
        charge = self.state.charges.get(charge_id)
        if charge is None or charge["user_id"] != user.id or charge["currency"] != STARS:
            raise AssertionError(f"no Stars charge {charge_id!r} of user {user.id}")
        if charge["refunded"]:
            raise AssertionError(f"charge {charge_id!r} is already refunded")
        return self.state.refund_charge(charge)

    # ----------------------------------------------------------------- waits

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Wait until ``predicate()`` is truthy, re-checking on every state change."""
        return await self.state.wait_for(predicate, timeout)

    @property
    def cursor(self) -> int:
        """The number of message events so far: waits with ``after=cursor`` see only what comes next."""
        return self.state.cursor

    def last_action(self, chat_id: int) -> int:
        """The event cursor when the user of ``chat_id`` last sent something or pressed a button."""
        return self._last_action.get(chat_id, 0)

    async def wait_for_screen(self, chat_id: int, check: Callable[[FakeMessage], bool], *,
                              after: int | None = None, timeout: float = 10.0,
                              what: str = "matching message") -> FakeMessage:
        """The first bot message sent or edited in the chat after event ``after`` that passes ``check``.

        ``after`` defaults to the user's latest action (``0``: the whole chat). Returns the message as it
        was at that send or edit, so later edits neither hide it nor change what the test asserts on.
        """
        start = self.last_action(chat_id) if after is None else after

        def match() -> FakeMessage | None:
            return next((e.message for e in self.state.events(chat_id, after=start) if check(e.message)), None)

        try:
            return await self.state.wait_for(match, timeout, chat_id=chat_id)
        except AssertionError:
            seen = [e.message.content[:80] for e in self.state.events(chat_id, after=start)][-6:]
            raise AssertionError(f"no {what} in chat {chat_id} within {timeout}s after event {start}; "
                                 f"shown since: {seen}") from None

    async def wait_for_message(self, chat_id: int, contains: str | None = None, *,
                               since: int | None = None, timeout: float = 10.0,
                               predicate: Callable[[FakeMessage], bool] | None = None) -> FakeMessage:
        """The first bot message sent or edited after the user's latest action that matches.

        ``since=0`` searches the whole chat history instead.
        """
        def check(message: FakeMessage) -> bool:
            return (contains is None or contains in message.content) and (predicate is None or predicate(message))

        return await self.wait_for_screen(chat_id, check, after=since, timeout=timeout,
                                          what=f"bot message containing {contains!r}")


def make_png(width: int = 64, height: int = 64, color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A small valid PNG for photo tests."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()
