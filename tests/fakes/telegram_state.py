"""What the fake Telegram holds: chats, the bot's messages and their edits, callback queries and their answers,
files, queued updates and flood accounting. No HTTP here (``telegram_server``), no user actions
(``telegram_user``).

Every send and every edit of a bot message is logged as a ``MessageEvent`` holding a copy of the message as it
was at that moment; ``cursor`` counts the events so far, so a test can wait for what the bot shows *after* an
action without older messages or edits ever matching.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .telegram_limits import ApiError, bad_request

T = TypeVar("T")
JSON = dict[str, Any]
STARS = "XTR"

_FOLDERS = {"photo": "photos", "video": "videos", "audio": "music", "voice": "voice",
            "document": "documents", "animation": "animations", "sticker": "stickers"}
_DEFAULT_EXT = {"photo": "jpg", "video": "mp4", "audio": "mp3", "voice": "oga",
                "document": "bin", "animation": "mp4", "sticker": "webp"}


# --------------------------------------------------------------------------- data


@dataclass
class FloodLimits:
    """Token buckets modelled on Telegram's published limits; ``enabled=False`` switches them off."""

    enabled: bool = True
    per_chat_rate: float = 1.0  # messages per second to one chat
    per_chat_burst: int = 3  # short bursts are tolerated
    group_per_minute: int = 20
    global_rate: float = 30.0
    global_burst: int = 30
    count_edits: bool = True  # edits are throttled by Telegram too


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    updated: float

    def delay(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes | None  # None: sent by URL without fetching
    size: int | None
    file_path: str
    meta: JSON = field(default_factory=dict)
    source_url: str | None = None
    photo_sizes: list[JSON] | None = None  # shared by all sizes of one photo

    def api_object(self) -> JSON | list[JSON]:
        if self.kind == "photo" and self.photo_sizes is not None:
            return self.photo_sizes
        data: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id, **self.meta}
        if self.size is not None:
            data["file_size"] = self.size
        return data


@dataclass
class MessageVersion:
    text: str | None
    caption: str | None
    reply_markup: JSON | None


@dataclass
class FakeMessage:
    """A message the bot sent, with its current state and edit history."""

    message_id: int
    chat_id: int
    date: int
    kind: str  # "text" or one of MEDIA_KINDS
    text: str | None = None
    caption: str | None = None
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    file: StoredFile | None = None
    media_group_id: str | None = None
    invoice: JSON | None = None
    parse_mode: str | None = None
    history: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    edit_date: int | None = None

    @property
    def content(self) -> str:
        return self.text if self.text is not None else (self.caption or "")

    @property
    def first_line(self) -> str:
        return self.content.split("\n", 1)[0]

    @property
    def file_id(self) -> str | None:
        return self.file.file_id if self.file else None

    @property
    def media_type(self) -> str | None:
        return None if self.kind == "text" else self.kind

    def button_rows(self) -> list[list[JSON]]:
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [[b if isinstance(b, dict) else {"text": b} for b in row] for row in rows]

    def buttons(self) -> list[str]:
        return [b["text"] for row in self.button_rows() for b in row]

    @property
    def has_inline_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("inline_keyboard"))

    @property
    def has_reply_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("keyboard"))

    def find_button(self, text: str) -> JSON:
        """The button with exactly ``text``, else the only one containing it."""
        buttons = [b for row in self.button_rows() for b in row]
        exact = [b for b in buttons if b["text"] == text]
        partial = [b for b in buttons if text in b["text"]]
        found = exact or partial
        if len(found) != 1:
            problem = "is ambiguous" if found else "not found"
            raise AssertionError(f"button {text!r} {problem} on message {self.message_id} "
                                 f"({self.content[:60]!r}); buttons: {self.buttons()}")
        return found[0]

    def snapshot(self) -> FakeMessage:
        """A copy of the message as it is now: later edits do not change it."""
        return dataclasses.replace(self, entities=list(self.entities), history=list(self.history))


@dataclass(frozen=True)
class MessageEvent:
    """A bot message sent or edited; ``number`` counts every event so far, ``message`` is a snapshot."""

    number: int
    message: FakeMessage
    edited: bool


@dataclass
class PendingQuery:
    """A callback or pre-checkout query sent to the bot, waiting for its answer."""

    user_id: int
    created: float
    answered: bool = False
    answer: JSON | None = None


# --------------------------------------------------------------------------- the state


class TelegramState:
    """Everything the fake Telegram remembers; the server and the user side both change it."""

    def __init__(self, *, bot_user: JSON, flood: FloodLimits | None = None, known_chats_only: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bot_user = bot_user
        self.flood = flood or FloodLimits()
        self.known_chats_only = known_chats_only  # sends to never-seen chats → "chat not found"
        self.clock = clock
        # updates the bot has not confirmed yet
        self.updates: list[JSON] = []
        self.allowed_updates: set[str] | None = None
        # Telegram's ids start anywhere (a new bot's, or one idle for a week, are random): fakes sharing one Redis
        # (webhook mode keeps the ids there) never take each other's updates for repeats.
        self._update_ids = itertools.count(secrets.randbelow(2**31) + 1)
        # chats, messages and their events
        self.chats: dict[int, JSON] = {}
        self.blocked: set[int] = set()
        self.user_messages: set[tuple[int, int]] = set()
        self.chat_actions: dict[int, list[str]] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope JSON, language) → commands
        self.cursor = 0  # the number of message events so far
        self._messages: dict[int, list[FakeMessage]] = {}
        self._by_id: dict[tuple[int, int], FakeMessage] = {}
        self._next_message_id: dict[int, int] = {}
        self._events: dict[int, list[MessageEvent]] = {}
        # queries and payments
        self.queries: dict[str, PendingQuery] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.pre_checkouts: dict[str, PendingQuery] = {}
        self.charges: dict[str, JSON] = {}  # telegram_payment_charge_id → payment (+ "user_id", "user", "date", "refunded")
        self.star_transactions: list[JSON] = []  # the bot's Star transactions, oldest first
        # files
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.file_counter = itertools.count(1)
        # flood accounting
        self.count_429 = 0
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._tick = asyncio.Event()
        self._chat_ticks: dict[int, asyncio.Event] = {}

    # ----------------------------------------------------------------- change notification

    def touch(self, chat_id: int | None = None) -> None:
        """Record a state change: wakes long polls and ``wait_for`` waiters, and with ``chat_id`` the waiters of
        that chat's messages (so a change in one chat does not wake every user waiting in another)."""
        self._tick.set()
        self._tick = asyncio.Event()
        if chat_id is not None and (tick := self._chat_ticks.pop(chat_id, None)) is not None:
            tick.set()

    async def changed(self, timeout: float, chat_id: int | None = None) -> None:
        """Return on the next state change (of ``chat_id``'s messages, when given), or after ``timeout`` seconds."""
        tick = self._tick if chat_id is None else self._chat_ticks.setdefault(chat_id, asyncio.Event())
        try:
            await asyncio.wait_for(tick.wait(), timeout)
        except TimeoutError:
            pass

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, chat_id: int | None = None) -> T:
        """Wait until ``predicate()`` is truthy, re-checking on every state change (on every change of
        ``chat_id``'s messages only, when the predicate looks at nothing else)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout}s")
            await self.changed(remaining, chat_id)
        return result

    # ----------------------------------------------------------------- updates for the bot

    def queue_update(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), kind: payload}
        self.updates.append(update)
        self.touch()
        return update

    def confirm_updates(self, offset: int) -> None:
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    def pending_updates(self, offset: int, limit: int) -> list[JSON]:
        if self.allowed_updates is not None:  # Telegram drops updates of unwanted types
            self.updates = [u for u in self.updates if _update_type(u) in self.allowed_updates]
        return [u for u in self.updates if u["update_id"] >= offset][:limit]

    # ----------------------------------------------------------------- messages

    def allocate_message_id(self, chat_id: int) -> int:
        # In a private chat user and bot messages share one id sequence.
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def store(self, chat_id: int, kind: str, **fields: Any) -> FakeMessage:
        """A new bot message."""
        message = FakeMessage(message_id=self.allocate_message_id(chat_id), chat_id=chat_id,
                              date=int(time.time()), kind=kind, **fields)
        self._messages.setdefault(chat_id, []).append(message)
        self._by_id[(chat_id, message.message_id)] = message
        self._record(message, edited=False)
        return message

    def edit(self, message: FakeMessage, *, text: str | None, caption: str | None, entities: list[JSON],
             reply_markup: JSON | None) -> None:
        """Give a bot message a full new state, keeping the old one in its history."""
        message.history.append(MessageVersion(message.text, message.caption, message.reply_markup))
        message.text, message.caption, message.entities = text, caption, entities
        message.reply_markup = reply_markup
        message.edit_date = int(time.time())
        self._record(message, edited=True)

    def _record(self, message: FakeMessage, *, edited: bool) -> None:
        self.cursor += 1
        event = MessageEvent(self.cursor, message.snapshot(), edited)
        self._events.setdefault(message.chat_id, []).append(event)
        self.touch(message.chat_id)

    def events(self, chat_id: int, *, after: int = 0) -> list[MessageEvent]:
        """The chat's message events numbered above ``after``, oldest first."""
        events = self._events.get(chat_id, [])
        start = len(events)
        while start > 0 and events[start - 1].number > after:
            start -= 1
        return events[start:]

    def message(self, chat_id: int, message_id: int) -> FakeMessage | None:
        return self._by_id.get((chat_id, message_id))

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[FakeMessage]:
        """Bot messages in a chat, oldest first."""
        return [m for m in self._messages.get(chat_id, []) if include_deleted or not m.deleted]

    def chat_object(self, chat_id: int) -> JSON:
        if chat_id in self.chats:
            return self.chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "supergroup", "title": "Group"}

    def message_object(self, message: FakeMessage) -> JSON:
        """The Bot API ``Message`` of a bot message."""
        data: JSON = {"message_id": message.message_id, "date": message.date,
                      "chat": self.chat_object(message.chat_id), "from": self.bot_user}
        text_key = "text" if message.kind == "text" else "caption"
        if message.kind == "text":
            data["text"] = message.text
        elif message.file is not None:
            data[message.kind] = message.file.api_object()
            if message.caption:
                data["caption"] = message.caption
        if message.entities and data.get(text_key):
            data["entities" if text_key == "text" else "caption_entities"] = message.entities
        if message.has_inline_keyboard:  # only inline keyboards are part of a Message
            data["reply_markup"] = message.reply_markup
        if message.invoice:
            data["invoice"] = message.invoice
        if message.media_group_id:
            data["media_group_id"] = message.media_group_id
        if message.edit_date:
            data["edit_date"] = message.edit_date
        return data

    # ----------------------------------------------------------------- Stars payments

    def record_charge(self, user: JSON, payment: JSON) -> JSON:
        """A payment Telegram has taken; a Stars one also becomes an incoming Star transaction."""
        charge_id = payment["telegram_payment_charge_id"]
        charge = self.charges[charge_id] = {**payment, "user_id": user["id"], "user": user, "refunded": False,
                                            "date": int(time.time())}
        if payment["currency"] == STARS:
            self.star_transactions.append({
                "id": charge_id, "amount": payment["total_amount"], "date": charge["date"],
                "source": {"type": "user", "transaction_type": "invoice_payment", "user": user,
                           "invoice_payload": payment["invoice_payload"]}})
        self.touch()
        return charge

    def star_charge(self, charge_id: str, user_id: int | None) -> JSON:
        """The Stars charge ``charge_id`` of ``user_id``, as ``refundStarPayment`` finds it, or Telegram's error."""
        if not charge_id:
            raise bad_request('Parameter "telegram_payment_charge_id" is required')
        charge = self.charges.get(charge_id)
        if charge is None or charge["currency"] != STARS or charge["user_id"] != user_id:
            raise bad_request("CHARGE_NOT_FOUND")
        if charge["refunded"]:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        return charge

    def refund_charge(self, charge: JSON) -> JSON:
        """Refund a Stars charge, by the bot or outside it: the outgoing Star transaction, and the
        ``refunded_payment`` service message the bot receives in the user's chat (Telegram sends it for every
        refund, the bot's own included). Returns that message."""
        charge_id, user_id = charge["telegram_payment_charge_id"], charge["user_id"]
        charge["refunded"] = True
        now = int(time.time())
        user = charge.get("user") or {"id": user_id, "is_bot": False, "first_name": "User"}
        self.star_transactions.append({
            "id": charge_id, "amount": charge["total_amount"], "date": now,
            "receiver": {"type": "user", "transaction_type": "invoice_payment", "user": user}})
        message = {"message_id": self.allocate_message_id(user_id), "date": now,
                   "chat": self.chat_object(user_id), "from": self.bot_user,
                   "refunded_payment": {"currency": STARS, "total_amount": charge["total_amount"],
                                        "invoice_payload": charge["invoice_payload"],
                                        "telegram_payment_charge_id": charge_id}}
        self.queue_update("message", message)
        return message

    # ----------------------------------------------------------------- recipients and flood accounting

    def check_recipient(self, chat_id: int) -> None:
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self.known_chats_only and chat_id not in self.chats:
            raise bad_request("chat not found")

    def throttle(self, chat_id: int) -> None:
        """Token-bucket flood control; a 429 does not consume a token, like Telegram."""
        limits = self.flood
        if not limits.enabled:
            return
        now = self.clock()
        buckets = [self._bucket("chat", chat_id, limits.per_chat_rate, limits.per_chat_burst, now),
                   self._bucket("global", 0, limits.global_rate, limits.global_burst, now)]
        if chat_id < 0:
            per_minute = limits.group_per_minute
            buckets.append(self._bucket("group", chat_id, per_minute / 60, per_minute, now))
        delay = max(bucket.delay(now) for bucket in buckets)
        if delay > 0:
            self.count_429 += 1
            retry_after = max(1, math.ceil(delay))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for bucket in buckets:
            bucket.tokens -= 1

    def _bucket(self, scope: str, key: int, rate: float, burst: float, now: float) -> _Bucket:
        return self._buckets.setdefault((scope, key), _Bucket(rate, burst, burst, now))

    def reset_flood(self) -> None:
        """Refill all flood buckets (e.g. after a test provoked a 429)."""
        self._buckets.clear()

    # ----------------------------------------------------------------- files

    def new_file(self, kind: str, data: bytes | None, size: int | None, meta: JSON,
                 filename: str | None = None) -> StoredFile:
        if kind == "photo":
            return self._new_photo(data, size, meta)
        ext = filename.rsplit(".", 1)[-1] if filename and "." in filename else _DEFAULT_EXT[kind]
        return self._register(kind, data, size, meta, ext)

    def _register(self, kind: str, data: bytes | None, size: int | None, meta: JSON,
                  ext: str) -> StoredFile:
        """A new file_id/file_unique_id pair that works for send-by-id, getFile and download."""
        number = next(self.file_counter)
        stored = StoredFile(
            file_id=f"{kind[:2].upper()}ACAg{number:06d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AgAD{number:06d}{secrets.token_hex(3)}", kind=kind, data=data,
            size=size if size is not None else (len(data) if data is not None else None),
            file_path=f"{_FOLDERS[kind]}/file_{number}.{ext}", meta=meta)
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def _new_photo(self, data: bytes | None, size: int | None, meta: JSON) -> StoredFile:
        """One stored file per PhotoSize (Telegram's thumbnails); all share the original bytes."""
        width, height = _photo_dimensions(data, meta)
        sizes: list[JSON] = []
        stored: StoredFile | None = None
        for side in _photo_sides(width, height):
            scale = side / max(width, height)
            dims = {"width": max(1, round(width * scale)), "height": max(1, round(height * scale))}
            stored = self._register("photo", data, size, dims, "jpg")
            stored.photo_sizes = sizes
            sizes.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                          **dims, **({"file_size": stored.size} if stored.size is not None else {})})
        assert stored is not None
        return stored  # the largest size


# --------------------------------------------------------------------------- helpers


def _update_type(update: JSON) -> str:
    return next(key for key in update if key != "update_id")


def media_meta(kind: str, fields: JSON, filename: str | None, content_type: str | None) -> JSON:
    """Telegram's per-kind attributes (defaults where the sender gave none)."""
    def number(key: str, default: int) -> int:
        try:
            return int(fields.get(key) or default)
        except (TypeError, ValueError):
            return default

    mime = fields.get("mime") or content_type
    name = fields.get("file_name") or filename
    if kind in ("video", "animation"):
        meta: JSON = {"width": number("width", 640), "height": number("height", 360),
                      "duration": number("duration", 1)}
    elif kind in ("audio", "voice"):
        meta = {"duration": number("duration", 1)}
        for key in ("title", "performer"):
            if fields.get(key):
                meta[key] = str(fields[key])
        if str(fields.get("thumbnail") or "").startswith("attach://"):  # a cover uploaded with the audio
            meta["thumbnail"] = {"file_id": "thumb-" + str(fields["thumbnail"])[9:], "file_unique_id": "thumb",
                                 "width": 320, "height": 320}
    elif kind == "sticker":
        return {"type": "regular", "width": 512, "height": 512, "is_animated": False,
                "is_video": False, "emoji": fields.get("emoji", "👍")}
    elif kind == "photo":
        return {"width": number("width", 0), "height": number("height", 0)}
    else:
        meta = {}
    if name and kind in ("document", "audio", "video", "animation"):
        meta["file_name"] = name
    if mime and (kind == "document" or mime != "application/octet-stream"):
        meta["mime_type"] = mime
    return meta


def _photo_dimensions(data: bytes | None, meta: JSON) -> tuple[int, int]:
    width, height = meta.get("width") or 0, meta.get("height") or 0
    if data is not None and not (width and height):
        size = _image_size(data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height = size
    width, height = width or 1280, height or 720
    if width + height > 10000 or max(width, height) / min(width, height) > 20:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return width, height


def _image_size(data: bytes) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - anything Pillow cannot decode is "not an image"
        return None


def is_image(data: bytes) -> bool:
    return _image_size(data) is not None


def _photo_sides(width: int, height: int) -> list[int]:
    longest = max(width, height)
    return [side for side in (90, 320, 800) if side < longest] + [min(longest, 2560)]
