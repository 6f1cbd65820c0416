"""A fake Telegram Bot API served over real HTTP on 127.0.0.1 for end-to-end tests.

The bot under test talks to it exactly as to Telegram (aiogram's AiohttpSession with
``TelegramAPIServer.from_base(tg.base_url)``); tests drive it from the user's side
(``send_text``, ``click``, ``send_photo``...) and inspect what the bot sent.
It enforces the limits of ``shared/telegram/PLATFORM.md`` with Telegram's own error
format, so a bot that passes here does not get rejected by real Telegram for them.
"""

from __future__ import annotations

import asyncio
import html
import io
import itertools
import json
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

T = TypeVar("T")
JSON = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_BUTTONS = 100
MB = 1024 * 1024
MAX_GET_FILE = 20 * MB
MAX_UPLOAD_PHOTO = 10 * MB
MAX_UPLOAD = 50 * MB
MAX_URL_PHOTO = 5 * MB
MAX_URL_OTHER = 20 * MB

MEDIA_KINDS = ("photo", "video", "audio", "voice", "document", "animation", "sticker")
_FOLDERS = {"photo": "photos", "video": "videos", "audio": "music", "voice": "voice",
            "document": "documents", "animation": "animations", "sticker": "stickers"}
_DEFAULT_EXT = {"photo": "jpg", "video": "mp4", "audio": "mp3", "voice": "oga",
                "document": "bin", "animation": "mp4", "sticker": "webp"}
_URL_DOCUMENT_TYPES = {"application/pdf", "application/zip", "image/gif"}
_URL_DOCUMENT_EXTS = {"pdf", "zip", "gif"}
_CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                 "upload_voice", "upload_document", "choose_sticker", "find_location",
                 "record_video_note", "upload_video_note"}
_BUTTON_ACTIONS = ("url", "callback_data", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "callback_game", "pay")
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                "exactly the same as a specified content and reply markup of the message")
WRONG_FILE = "wrong file identifier/HTTP URL specified"


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _utf16_len(text: str) -> int:
    # Telegram entity offsets count UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- data


class HasMessageId(Protocol):
    message_id: int


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
class UploadedFile:
    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes


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
    seq: int = 0  # state counter at the last send/edit, see FakeTelegram.wait_for_message

    @property
    def content(self) -> str:
        return self.text if self.text is not None else (self.caption or "")

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


@dataclass
class RecordedCall:
    method: str
    params: JSON
    files: dict[str, UploadedFile]
    status: int  # 0 while the call is still being handled
    response: JSON


@dataclass
class _Query:
    user: FakeUser
    created: float
    answered: bool = False
    answer: JSON | None = None


@dataclass
class _Failure:
    code: int
    description: str
    retry_after: int | None
    times: int


class _Params:
    """Request fields as aiogram sends them: strings, complex values JSON-encoded."""

    def __init__(self, fields: JSON, files: dict[str, UploadedFile]) -> None:
        self.fields = fields
        self.files = files

    def text(self, key: str) -> str | None:
        value = self.fields.get(key)
        return None if value is None else str(value)

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.fields.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {key} specified") from None

    def flag(self, key: str) -> bool:
        return str(self.fields.get(key, "")).lower() in ("true", "1")

    def json_value(self, key: str) -> Any:
        value = self.fields.get(key)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {key} JSON object") from None

    def chat_id(self, key: str = "chat_id") -> int:
        value = self.fields.get(key)
        if value in (None, ""):
            raise bad_request(f"{key} is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def decoded(self) -> JSON:
        out = dict(self.fields)
        for key, value in out.items():
            if isinstance(value, str) and value.startswith(("[", "{")):
                try:
                    out[key] = json.loads(value)
                except ValueError:
                    pass
        return out


# --------------------------------------------------------------------------- formatting


_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^>]*)?)\s*/?>")
_ENTITY_RE = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")
_HREF_RE = re.compile(r"""href\s*=\s*["']([^"']*)["']""")
_HTML_ENTITY_TYPES = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic",
                      "u": "underline", "ins": "underline", "s": "strikethrough",
                      "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
                      "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
                      "blockquote": "blockquote", "tg-emoji": "custom_emoji"}
_MDV2_RESERVED = re.compile(r"(?<!\\)[.!#+\-={}()]")
_MDV2_CODE = re.compile(r"```.*?```|`[^`]*`", re.S)


def parse_html(raw: str) -> tuple[str, list[JSON]]:
    """Plain text and entities of Telegram HTML; raises 'can't parse entities' like Telegram."""
    out: list[str] = []
    stack: list[tuple[str, int, str]] = []
    entities: list[JSON] = []
    pos = offset = 0
    while pos < len(raw):
        if raw[pos] == "<":
            pos = _html_tag(raw, pos, offset, stack, entities)
            continue
        entity = _ENTITY_RE.match(raw, pos)
        chunk = html.unescape(entity.group()) if entity else raw[pos]
        out.append(chunk)
        offset += _utf16_len(chunk)
        pos = entity.end() if entity else pos + 1
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _html_tag(raw: str, pos: int, offset: int, stack: list[tuple[str, int, str]],
              entities: list[JSON]) -> int:
    byte_offset = len(raw[:pos].encode())
    match = _TAG_RE.match(raw, pos)
    name = match.group(2).lower() if match else ""
    if not match or name not in _HTML_ENTITY_TYPES:
        raise _entities_error(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
    if not match.group(1):
        stack.append((name, offset, match.group(3)))
        return match.end()
    if not stack or stack[-1][0] != name:
        expected = f'"</{stack[-1][0]}>"' if stack else "no end tag"
        raise _entities_error(f"Unmatched end tag at byte offset {byte_offset}, "
                              f'expected {expected}, found "</{name}>"')
    _, start, attrs = stack.pop()
    if offset > start:
        entity: JSON = {"type": _HTML_ENTITY_TYPES[name], "offset": start, "length": offset - start}
        href = _HREF_RE.search(attrs)
        if name == "a":
            entity = {**entity, "type": "text_link", "url": href.group(1) if href else ""}
        entities.append(entity)
    return match.end()


def _entities_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def render_text(raw: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """Plain text and entities as Telegram would store them (MarkdownV2 checked loosely)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(raw)
    if mode == "markdownv2":
        reserved = _MDV2_RESERVED.search(_MDV2_CODE.sub("", raw))
        if reserved:
            raise _entities_error(f"Character '{reserved.group()}' is reserved and must be "
                                  "escaped with the preceding '\\'")
        return re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)[*_~|`]", "", raw)), []
    if mode == "markdown":
        return re.sub(r"[*_`]", "", raw), []
    return raw, []


# --------------------------------------------------------------------------- markup


def validate_markup(markup: Any) -> JSON | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _validate_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _validate_rows(markup["keyboard"])
    elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _validate_rows(rows: Any) -> list[list[Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return rows


def _validate_inline_keyboard(rows: Any) -> None:
    for row in _validate_rows(rows):
        for button in row:
            _validate_inline_button(button)


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not button["text"]:
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [key for key in _BUTTON_ACTIONS if key in button]
    if not actions:
        raise bad_request("can't parse inline keyboard button: "
                          "Text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if "callback_data" in button and not (
        isinstance(data, str) and 1 <= len(data.encode()) <= MAX_CALLBACK_DATA
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if "url" in button and not (isinstance(url, str) and re.match(r"(https?|tg)://\S+$", url)):
        raise bad_request("BUTTON_URL_INVALID")


# --------------------------------------------------------------------------- the server


Handler = Callable[[_Params], Awaitable[Any]]


class FakeTelegram:
    """Fake Bot API server plus a user-side test API. Use as ``async with FakeTelegram() as tg``."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        flood: FloodLimits | None = None,
        fetch_urls: bool = True,
        fetch_timeout: float = 3.0,
        callback_query_ttl: float = 15.0,
        known_chats_only: bool = False,
        bot_username: str = "kiebot_test_bot",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.flood = flood or FloodLimits()
        self.fetch_urls = fetch_urls
        self.fetch_timeout = fetch_timeout
        self.callback_query_ttl = callback_query_ttl
        self.known_chats_only = known_chats_only  # sends to never-seen chats → "chat not found"
        self.clock = clock
        self.bot_user: JSON = {"id": int(token.split(":")[0]) if token.split(":")[0].isdigit() else 1,
                               "is_bot": True, "first_name": "KieBot Test", "username": bot_username,
                               "can_join_groups": True, "can_read_all_group_messages": False,
                               "supports_inline_queries": False}
        self.count_429 = 0
        self.callback_answers: dict[str, JSON] = {}
        self.url_fetches: list[tuple[str, int | None]] = []  # (url, bytes fetched)
        self.webhook_url: str | None = None
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._allowed_updates: set[str] | None = None
        self._poller: asyncio.Event | None = None
        self._closing = False
        self._messages: dict[int, list[FakeMessage]] = {}
        self._by_id: dict[tuple[int, int], FakeMessage] = {}
        self._user_messages: set[tuple[int, int]] = set()
        self._next_message_id: dict[int, int] = {}
        self._chats: dict[int, JSON] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._queries: dict[str, _Query] = {}
        self._blocked: set[int] = set()
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._chat_actions: dict[int, list[str]] = {}
        self._calls: list[RecordedCall] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._pre_checkouts: dict[str, _Query] = {}
        self.charges: dict[str, JSON] = {}  # telegram_payment_charge_id → payment (+ "refunded")
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._seq = 0
        self._last_action_seq: dict[int, int] = {}
        self._tick = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self.base_url = ""
        self._handlers: dict[str, Handler] = self._build_handlers()

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        # Uploads must reach our own size checks instead of aiohttp's plain-text 413.
        app = web.Application(client_max_size=4 * MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._http = ClientSession()

    async def close(self) -> None:
        self._closing = True  # releases pending long polls at once
        self._touch()
        if self._http:
            await self._http.close()
        if self._runner:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- HTTP plumbing

    def _build_handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {
            "getme": self._get_me, "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook, "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info, "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands, "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message, "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message, "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action, "sendmediagroup": self._send_media_group,
            "getfile": self._get_file, "copymessage": self._copy_message,
            "sendinvoice": self._send_invoice, "createinvoicelink": self._create_invoice_link,
            "answerprecheckoutquery": self._answer_pre_checkout_query,
            "refundstarpayment": self._refund_star_payment,
        }
        for kind in MEDIA_KINDS:
            handlers[f"send{kind}"] = self._media_sender(kind)
        for name in ("setmydescription", "setmyshortdescription", "setmyname", "setchatmenubutton"):
            handlers[name] = self._accept
        return handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        method = request.match_info["method"]
        params = await self._read_params(request)
        # Recorded on arrival so tests can see in-flight calls (e.g. a pending long poll).
        call = RecordedCall(method, params.decoded(), params.files, 0, {})
        self._calls.append(call)
        self._touch()
        call.status, call.response = await self._dispatch(method, params)
        self._touch()
        return web.json_response(call.response, status=call.status)

    async def _dispatch(self, method: str, params: _Params) -> tuple[int, JSON]:
        handler = self._handlers.get(method.lower())
        if handler is None:
            return 404, ApiError(404, "Not Found: method not found").body()
        try:
            self._injected_failure(method)
            return 200, {"ok": True, "result": await handler(params)}
        except ApiError as error:
            return error.code, error.body()
        except Exception as error:  # noqa: BLE001 - a fake bug must surface as JSON, not HTML
            return 500, ApiError(500, f"Internal Server Error: {error!r}").body()

    @staticmethod
    async def _read_params(request: web.Request) -> _Params:
        fields: JSON = {}
        files: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            fields.update(await request.json())
        elif request.method == "POST":
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(key, value.filename, value.content_type,
                                              value.file.read())
                else:
                    fields[key] = value
        for key, value in request.query.items():
            fields.setdefault(key, value)
        return _Params(fields, files)

    async def _handle_download(self, request: web.Request) -> web.Response:
        stored = self._files_by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=stored.data or b"", content_type="application/octet-stream")

    def _touch(self) -> None:
        """Record a state change and wake long polls and ``wait_for`` waiters."""
        self._seq += 1
        self._tick.set()
        self._tick = asyncio.Event()

    def _injected_failure(self, method: str) -> None:
        queue = self._failures.get(method.lower())
        if not queue:
            return
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        if failure.code == 429:
            self.count_429 += 1
        raise ApiError(failure.code, failure.description, failure.retry_after)

    # ----------------------------------------------------------------- bot setup methods

    async def _get_me(self, _: _Params) -> JSON:
        return self.bot_user

    async def _accept(self, _: _Params) -> bool:
        return True

    async def _delete_webhook(self, p: _Params) -> bool:
        self.webhook_url = None
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _set_webhook(self, p: _Params) -> bool:
        secret = p.text("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        self.webhook_url = p.text("url") or None
        return True

    async def _get_webhook_info(self, _: _Params) -> JSON:
        return {"url": self.webhook_url or "", "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    @staticmethod
    def _commands_key(p: _Params) -> tuple[str, str]:
        scope = p.json_value("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), p.text("language_code") or ""

    async def _set_my_commands(self, p: _Params) -> bool:
        commands = p.json_value("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_INVALID")
        self._commands[self._commands_key(p)] = commands
        return True

    async def _get_my_commands(self, p: _Params) -> list[JSON]:
        return self._commands.get(self._commands_key(p), [])

    async def _delete_my_commands(self, p: _Params) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    # ----------------------------------------------------------------- getUpdates

    async def _get_updates(self, p: _Params) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = p.integer("offset", 0) or 0
        limit = min(max(p.integer("limit", 100) or 100, 1), 100)
        allowed = p.json_value("allowed_updates")
        if allowed is not None:  # remembered between calls, as Telegram does; [] means all
            self._allowed_updates = set(allowed) or None
        self._confirm(offset)
        return await self._long_poll(offset, limit, max(p.integer("timeout", 0) or 0, 0))

    async def _long_poll(self, offset: int, limit: int, timeout: int) -> list[JSON]:
        if self._poller is not None:
            self._poller.set()  # only one poller per token: the older one gets 409
        me = self._poller = asyncio.Event()
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while True:
                batch = self._pending(offset, limit)
                remaining = deadline - asyncio.get_running_loop().time()
                if batch or remaining <= 0 or self._closing:
                    return batch
                if me.is_set():
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                        "make sure that only one bot instance is running")
                try:
                    await asyncio.wait_for(self._tick.wait(), remaining)
                except TimeoutError:
                    pass
        finally:
            if self._poller is me:
                self._poller = None

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _pending(self, offset: int, limit: int) -> list[JSON]:
        if self._allowed_updates is not None:  # Telegram drops updates of unwanted types
            self._updates = [u for u in self._updates if _update_type(u) in self._allowed_updates]
        return [u for u in self._updates if u["update_id"] >= offset][:limit]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by the bot."""
        return list(self._updates)

    # ----------------------------------------------------------------- send guards

    def _check_recipient(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self.known_chats_only and chat_id not in self._chats:
            raise bad_request("chat not found")

    def _throttle(self, chat_id: int) -> None:
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

    @staticmethod
    def _text(p: _Params, key: str = "text") -> tuple[str, list[JSON]]:
        plain, entities = render_text(p.text(key) or "", p.text("parse_mode"))
        if not plain.strip():
            raise bad_request("message text is empty")
        if len(plain) > MAX_TEXT:
            raise bad_request("message is too long")
        return plain, entities

    @staticmethod
    def _caption(raw: str | None, parse_mode: str | None) -> tuple[str | None, list[JSON]]:
        if raw is None:
            return None, []
        plain, entities = render_text(raw, parse_mode)
        if len(plain) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return plain or None, entities

    # ----------------------------------------------------------------- sending

    async def _send_message(self, p: _Params) -> JSON:
        chat_id = p.chat_id()
        text, entities = self._text(p)
        markup = validate_markup(p.json_value("reply_markup"))
        self._check_recipient(chat_id)
        self._throttle(chat_id)
        message = self._store(chat_id, "text", text=text, entities=entities, reply_markup=markup,
                              parse_mode=p.text("parse_mode"))
        return self._message_object(message)

    def _media_sender(self, kind: str) -> Handler:
        async def send(p: _Params) -> JSON:
            chat_id = p.chat_id()
            caption, entities = self._caption(p.text("caption"), p.text("parse_mode"))
            markup = validate_markup(p.json_value("reply_markup"))
            self._check_recipient(chat_id)
            stored = await self._resolve_media(p, p.text(kind), kind, p.fields)
            self._throttle(chat_id)
            message = self._store(chat_id, kind, caption=caption, entities=entities, file=stored,
                                  reply_markup=markup, parse_mode=p.text("parse_mode"))
            return self._message_object(message)

        return send

    async def _send_media_group(self, p: _Params) -> list[JSON]:
        chat_id = p.chat_id()
        items = p.json_value("media")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise bad_request("can't parse media JSON object")
        if not 2 <= len(items) <= 10:
            raise bad_request("wrong number of messages in album: must be 2-10")
        kinds = {item.get("type") for item in items}
        for lonely in ("document", "audio"):  # these only group with their own kind
            if lonely in kinds and len(kinds) > 1:
                raise bad_request(f"{lonely} can't be mixed with other media types")
        captions = [self._caption(i.get("caption"), i.get("parse_mode")) for i in items]
        self._check_recipient(chat_id)
        files = [await self._resolve_media(p, i.get("media"), i.get("type", ""), i) for i in items]
        self._throttle(chat_id)  # an album counts as one send
        group_id = str(next(self._file_counter) + 10**12)
        messages = [self._store(chat_id, stored.kind, caption=caption, entities=entities,
                                file=stored, media_group_id=group_id)
                    for stored, (caption, entities) in zip(files, captions)]
        return [self._message_object(m) for m in messages]

    async def _copy_message(self, p: _Params) -> JSON:
        chat_id = p.chat_id()
        source = self._by_id.get((p.chat_id("from_chat_id"), p.integer("message_id", 0) or 0))
        if source is None or source.deleted:
            raise bad_request("message to copy not found")
        caption = source.caption
        if p.text("caption") is not None:
            caption, _ = self._caption(p.text("caption"), p.text("parse_mode"))
        self._check_recipient(chat_id)
        self._throttle(chat_id)
        copy = self._store(chat_id, source.kind, text=source.text, caption=caption,
                           file=source.file, reply_markup=validate_markup(p.json_value("reply_markup")))
        return {"message_id": copy.message_id}

    async def _send_chat_action(self, p: _Params) -> bool:
        chat_id = p.chat_id()
        action = p.text("action") or ""
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._check_recipient(chat_id)
        self._chat_actions.setdefault(chat_id, []).append(action)
        return True

    # ----------------------------------------------------------------- media files

    async def _resolve_media(self, p: _Params, value: str | None, kind: str, meta: JSON) -> StoredFile:
        """A file sent by upload (``attach://``), by URL or by file_id."""
        if kind not in MEDIA_KINDS:
            raise bad_request("unsupported media type")
        if value is None and kind in p.files:  # a raw multipart upload in the field itself
            return self._stored_upload(p.files[kind], kind, meta)
        if not value:
            raise bad_request(f"there is no {kind} in the request")
        if value.startswith("attach://"):
            upload = p.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(WRONG_FILE)
            return self._stored_upload(upload, kind, meta)
        if value.startswith(("http://", "https://")):
            return await self._stored_url(value, kind, meta)
        stored = self._files.get(value)
        if stored is None:
            raise bad_request(WRONG_FILE)
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return stored

    def _stored_upload(self, upload: UploadedFile, kind: str, meta: JSON) -> StoredFile:
        limit = MAX_UPLOAD_PHOTO if kind == "photo" else MAX_UPLOAD
        if len(upload.data) > limit:
            raise ApiError(413, "Request Entity Too Large")
        file_meta = _media_meta(kind, meta, upload.filename, upload.content_type)
        return self._new_file(kind, upload.data, None, file_meta, upload.filename)

    async def _stored_url(self, url: str, kind: str, meta: JSON) -> StoredFile:
        data, content_type = await self._fetch(url, kind) if self.fetch_urls else (None, None)
        name = urlsplit(url).path.rsplit("/", 1)[-1] or None
        if kind == "document":
            ext = (name or "").rsplit(".", 1)[-1].lower()
            typed_ok = content_type in _URL_DOCUMENT_TYPES if content_type else ext in _URL_DOCUMENT_EXTS
            if not (typed_ok or ext in _URL_DOCUMENT_EXTS):
                raise bad_request("wrong type of the web page content")
        elif content_type and content_type.startswith("text/") or (
                kind == "photo" and data is not None and not _is_image(data)):
            raise bad_request("wrong type of the web page content")
        stored = self._new_file(kind, data, None, _media_meta(kind, meta, name, content_type), name)
        stored.source_url = url
        return stored

    async def _fetch(self, url: str, kind: str) -> tuple[bytes, str | None]:
        """Download a send-by-URL file like Telegram does, within its URL size limits."""
        assert self._http is not None
        limit = MAX_URL_PHOTO if kind == "photo" else MAX_URL_OTHER
        data = bytearray()
        try:
            async with self._http.get(url, timeout=ClientTimeout(total=self.fetch_timeout)) as resp:
                if resp.status != 200:
                    raise bad_request("failed to get HTTP URL content")
                async for chunk in resp.content.iter_chunked(65536):
                    data += chunk
                    if len(data) > limit:
                        raise bad_request("failed to get HTTP URL content")
                content_type = resp.content_type
        except (ClientError, TimeoutError):
            self.url_fetches.append((url, None))
            raise bad_request("failed to get HTTP URL content") from None
        self.url_fetches.append((url, len(data)))
        return bytes(data), content_type

    def _new_file(self, kind: str, data: bytes | None, size: int | None, meta: JSON,
                  filename: str | None = None) -> StoredFile:
        if kind == "photo":
            return self._new_photo(data, size, meta)
        ext = filename.rsplit(".", 1)[-1] if filename and "." in filename else _DEFAULT_EXT[kind]
        return self._register(kind, data, size, meta, ext)

    def _register(self, kind: str, data: bytes | None, size: int | None, meta: JSON,
                  ext: str) -> StoredFile:
        """A new file_id/file_unique_id pair that works for send-by-id, getFile and download."""
        number = next(self._file_counter)
        stored = StoredFile(
            file_id=f"{kind[:2].upper()}ACAg{number:06d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AgAD{number:06d}{secrets.token_hex(3)}", kind=kind, data=data,
            size=size if size is not None else (len(data) if data is not None else None),
            file_path=f"{_FOLDERS[kind]}/file_{number}.{ext}", meta=meta)
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
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

    def _file_object(self, stored: StoredFile) -> JSON:
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": stored.size, "file_path": stored.file_path}

    async def _get_file(self, p: _Params) -> JSON:
        stored = self._files.get(p.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if (stored.size or 0) > MAX_GET_FILE:
            raise bad_request("file is too big")
        return self._file_object(stored)

    # ----------------------------------------------------------------- editing

    def _editable(self, p: _Params) -> FakeMessage:
        if p.text("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        chat_id = p.chat_id()
        message = self._by_id.get((chat_id, p.integer("message_id", 0) or 0))
        if message is None or message.deleted:
            if (chat_id, p.integer("message_id", 0)) in self._user_messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        self._check_recipient(chat_id)
        return message

    def _apply_edit(self, message: FakeMessage, *, text: str | None, caption: str | None,
                    entities: list[JSON], reply_markup: JSON | None) -> JSON:
        """Apply a full new state; an omitted inline keyboard is removed, as in Telegram."""
        if reply_markup is None and message.has_reply_keyboard:
            reply_markup = message.reply_markup  # reply keyboards are not part of the message
        new_text, new_caption, new_entities = text, caption, entities
        if (new_text, new_caption, new_entities, reply_markup) == (
                message.text, message.caption, message.entities, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        if self.flood.count_edits:
            self._throttle(message.chat_id)
        message.history.append(MessageVersion(message.text, message.caption, message.reply_markup))
        message.text, message.caption, message.entities = new_text, new_caption, new_entities
        message.reply_markup = reply_markup
        message.edit_date = int(time.time())
        message.seq = self._seq + 1
        return self._message_object(message)

    async def _edit_message_text(self, p: _Params) -> JSON:
        message = self._editable(p)
        text, entities = self._text(p)
        markup = validate_markup(p.json_value("reply_markup"))
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(message, text=text, caption=None, entities=entities,
                                reply_markup=markup)

    async def _edit_message_caption(self, p: _Params) -> JSON:
        message = self._editable(p)
        caption, entities = self._caption(p.text("caption") or "", p.text("parse_mode"))
        markup = validate_markup(p.json_value("reply_markup"))
        if message.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        return self._apply_edit(message, text=None, caption=caption, entities=entities,
                                reply_markup=markup)

    async def _edit_message_reply_markup(self, p: _Params) -> JSON:
        message = self._editable(p)
        return self._apply_edit(message, text=message.text, caption=message.caption,
                                entities=message.entities,
                                reply_markup=validate_markup(p.json_value("reply_markup")))

    async def _delete_message(self, p: _Params) -> bool:
        key = (p.chat_id(), p.integer("message_id", 0) or 0)
        message = self._by_id.get(key)
        if key in self._user_messages:
            self._user_messages.discard(key)
            return True
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        return True

    async def _answer_callback_query(self, p: _Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        query = self._queries.get(query_id)
        if (query is None or query.answered
                or self.clock() - query.created > self.callback_query_ttl):
            raise bad_request(QUERY_TOO_OLD)
        if len(p.text("text") or "") > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        query.answer = {k: v for k, v in p.decoded().items() if k != "callback_query_id"}
        self.callback_answers[query_id] = query.answer
        return True

    # ----------------------------------------------------------------- Stars payments

    @staticmethod
    def _invoice(p: _Params) -> JSON:
        """Validate an invoice like Telegram does for Stars (XTR) and fiat currencies."""
        title, description = p.text("title") or "", p.text("description") or ""
        payload, currency = p.text("payload") or "", p.text("currency") or ""
        prices = p.json_value("prices")
        if not 1 <= len(title) <= 32:
            raise bad_request("INVOICE_TITLE_INVALID")
        if not 1 <= len(description) <= 255:
            raise bad_request("INVOICE_DESCRIPTION_INVALID")
        if not 1 <= len(payload.encode()) <= 128:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        if not isinstance(prices, list) or not prices:
            raise bad_request("can't parse prices JSON object")
        if currency == "XTR" and (len(prices) != 1 or p.text("provider_token")):
            raise bad_request("STARS_INVOICE_INVALID")
        total = sum(int(price.get("amount", 0)) for price in prices)
        if total <= 0:
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        return {"title": title, "description": description, "start_parameter": "",
                "currency": currency, "total_amount": total, "payload": payload}

    async def _send_invoice(self, p: _Params) -> JSON:
        chat_id = p.chat_id()
        invoice = self._invoice(p)
        markup = validate_markup(p.json_value("reply_markup"))
        self._check_recipient(chat_id)
        self._throttle(chat_id)
        message = self._store(chat_id, "invoice", reply_markup=markup, invoice=invoice)
        return self._message_object(message)

    async def _create_invoice_link(self, p: _Params) -> str:
        self._invoice(p)
        return f"https://t.me/$fake_invoice_{secrets.token_urlsafe(8)}"

    async def _answer_pre_checkout_query(self, p: _Params) -> bool:
        query = self._pre_checkouts.get(p.text("pre_checkout_query_id") or "")
        if query is None or query.answered or self.clock() - query.created > 10:
            raise bad_request(QUERY_TOO_OLD)  # Telegram cancels the payment after 10 s
        if not p.flag("ok") and not p.text("error_message"):
            raise bad_request("error_message is required when ok is false")
        query.answered = True
        query.answer = {"ok": p.flag("ok"), "error_message": p.text("error_message")}
        return True

    async def _refund_star_payment(self, p: _Params) -> bool:
        charge = self.charges.get(p.text("telegram_payment_charge_id") or "")
        if charge is None or charge["user_id"] != p.integer("user_id"):
            raise bad_request("CHARGE_NOT_FOUND")
        if charge["refunded"]:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        charge["refunded"] = True
        return True

    # ----------------------------------------------------------------- message store

    def _allocate_message_id(self, chat_id: int) -> int:
        # In a private chat user and bot messages share one id sequence.
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _store(self, chat_id: int, kind: str, **fields: Any) -> FakeMessage:
        message = FakeMessage(message_id=self._allocate_message_id(chat_id), chat_id=chat_id,
                              date=int(time.time()), kind=kind, seq=self._seq + 1, **fields)
        self._messages.setdefault(chat_id, []).append(message)
        self._by_id[(chat_id, message.message_id)] = message
        return message

    def _chat_object(self, chat_id: int) -> JSON:
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "supergroup", "title": "Group"}

    def _message_object(self, message: FakeMessage) -> JSON:
        data: JSON = {"message_id": message.message_id, "date": message.date,
                      "chat": self._chat_object(message.chat_id), "from": self.bot_user}
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

    # ----------------------------------------------------------------- user side

    def _queue(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self._touch()
        return update

    def _user_message(self, user: FakeUser, **content: Any) -> JSON:
        self._chats[user.id] = user.as_chat()
        message_id = self._allocate_message_id(user.id)
        self._user_messages.add((user.id, message_id))
        self._last_action_seq[user.id] = self._seq
        message = {"message_id": message_id, "date": int(time.time()), "chat": user.as_chat(),
                   "from": user.as_user(), **content}
        self._queue("message", message)
        return message

    async def send_text(self, user: FakeUser, text: str, *, entities: list[JSON] | None = None) -> JSON:
        """The user sends a text message; returns the Message object queued."""
        return self._user_message(user, text=text, **({"entities": entities} if entities else {}))

    async def send_command(self, user: FakeUser, command: str, args: str | None = None) -> JSON:
        """The user sends ``/command [args]`` (with a bot_command entity)."""
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {args}" if args else command
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
        return await self.send_text(user, text, entities=[entity])

    async def press(self, user: FakeUser, message: FakeMessage | HasMessageId | int,
                    callback_data: str) -> str:
        """The user presses an inline button of ``message``; returns the callback query id.

        ``message`` may be a FakeMessage, an aiogram Message or a message_id.
        """
        if not isinstance(message, FakeMessage):
            message_id = message if isinstance(message, int) else message.message_id
            if (user.id, message_id) not in self._by_id:
                raise AssertionError(f"the bot sent no message {message_id} to chat {user.id}")
            message = self._by_id[(user.id, message_id)]
        if message.deleted:
            raise AssertionError(f"message {message.message_id} was deleted; nothing to press")
        self._chats[user.id] = user.as_chat()
        query_id = str(secrets.randbits(62))
        self._queries[query_id] = _Query(user, self.clock())
        self._last_action_seq[user.id] = self._seq
        self._queue("callback_query", {
            "id": query_id, "from": user.as_user(), "message": self._message_object(message),
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
        live = [m for m in self._messages.get(chat_id, []) if not m.deleted]
        inline = [m for m in live if m.has_inline_keyboard][-1:]
        reply = [m for m in live if m.has_reply_keyboard or (m.reply_markup or {}).get("remove_keyboard")]
        return inline + [m for m in reply[-1:] if m.has_reply_keyboard]

    async def register_file(self, data: bytes, size: int | None = None, *, kind: str = "document",
                            file_name: str = "file.bin", mime: str = "application/octet-stream",
                            **meta: Any) -> str:
        """Store a file as if a user had sent it; ``size`` may claim more than ``len(data)``."""
        file_meta = _media_meta(kind, meta, file_name, mime)
        return self._new_file(kind, data, size, file_meta, file_name).file_id

    async def _user_media(self, user: FakeUser, kind: str, data: bytes, caption: str | None,
                          size: int | None, **meta: Any) -> JSON:
        file_id = await self.register_file(data, size, kind=kind, **meta)
        content: JSON = {kind: self._files[file_id].api_object()}
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

    async def send_video(self, user: FakeUser, data: bytes = b"\x00" * 1024, duration: int = 5, *,
                         width: int = 640, height: int = 360, caption: str | None = None,
                         size: int | None = None) -> JSON:
        return await self._user_media(user, "video", data, caption, size, duration=duration,
                                      width=width, height=height, file_name="video.mp4", mime="video/mp4")

    async def send_audio(self, user: FakeUser, data: bytes = b"\x00" * 1024, duration: int = 5, *,
                         caption: str | None = None, size: int | None = None) -> JSON:
        return await self._user_media(user, "audio", data, caption, size, duration=duration,
                                      file_name="audio.mp3", mime="audio/mpeg")

    async def send_voice(self, user: FakeUser, data: bytes = b"OggS" + b"\x00" * 1020,
                         duration: int = 3, *, size: int | None = None) -> JSON:
        return await self._user_media(user, "voice", data, None, size, duration=duration,
                                      file_name="voice.oga", mime="audio/ogg")

    async def send_sticker(self, user: FakeUser, emoji: str = "👍") -> JSON:
        return await self._user_media(user, "sticker", b"RIFF\x00\x00\x00\x00WEBP", None, None,
                                      emoji=emoji, file_name="sticker.webp", mime="image/webp")

    async def pay(self, user: FakeUser, invoice: FakeMessage | None = None, *,
                  timeout: float = 10.0, deliver_twice: bool = False) -> str | None:
        """The user pays an invoice (default: the latest in their chat).

        Queues a pre_checkout_query, waits for the bot's answer, then (if ok) the
        successful_payment message; ``deliver_twice`` repeats it as Telegram may.
        Returns the telegram_payment_charge_id, or None if the bot declined.
        """
        invoice = invoice or next((m for m in reversed(self.messages(user.id)) if m.invoice), None)
        if invoice is None or invoice.invoice is None:
            raise AssertionError(f"no invoice in chat {user.id}")
        details = invoice.invoice
        query_id = str(secrets.randbits(62))
        query = self._pre_checkouts[query_id] = _Query(user, self.clock())
        self._queue("pre_checkout_query", {
            "id": query_id, "from": user.as_user(), "currency": details["currency"],
            "total_amount": details["total_amount"], "invoice_payload": details["payload"]})
        try:
            await self.wait_for(lambda: query.answered, timeout)
        except AssertionError:
            raise AssertionError(f"pre_checkout_query not answered within {timeout}s") from None
        if not (query.answer or {}).get("ok"):
            return None
        return self._successful_payment(user, details, deliver_twice)

    def _successful_payment(self, user: FakeUser, details: JSON, deliver_twice: bool) -> str:
        charge_id = f"stxFake{secrets.token_hex(12)}"
        payment = {"currency": details["currency"], "total_amount": details["total_amount"],
                   "invoice_payload": details["payload"], "telegram_payment_charge_id": charge_id,
                   "provider_payment_charge_id": ""}
        self.charges[charge_id] = {**payment, "user_id": user.id, "refunded": False}
        message = self._user_message(user, successful_payment=payment)
        if deliver_twice:
            self._queue("message", message)
        return charge_id

    def add_chat(self, user: FakeUser) -> None:
        """Make a chat known without a message (for ``known_chats_only``)."""
        self._chats[user.id] = user.as_chat()

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: every send to them fails with 403."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def fail_next(self, method: str, error_code: int = 500, description: str = "Internal Server Error",
                  *, retry_after: int | None = None, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with this error."""
        self._failures.setdefault(method.lower(), []).append(
            _Failure(error_code, description, retry_after, times))

    # ----------------------------------------------------------------- inspection

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[FakeMessage]:
        """Bot messages in a chat, oldest first."""
        return [m for m in self._messages.get(chat_id, []) if include_deleted or not m.deleted]

    def last_message(self, chat_id: int) -> FakeMessage:
        messages = self.messages(chat_id)
        if not messages:
            raise AssertionError(f"the bot sent nothing (still visible) to chat {chat_id}")
        return messages[-1]

    @staticmethod
    def buttons(message: FakeMessage) -> list[str]:
        return message.buttons()

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Recorded requests (decoded params), optionally of one method (case-insensitive)."""
        return [c for c in self._calls if method is None or c.method.lower() == method.lower()]

    def chat_actions(self, chat_id: int) -> list[str]:
        return list(self._chat_actions.get(chat_id, []))

    @property
    def commands(self) -> dict[str, list[JSON]]:
        """Default-scope commands by language_code ("" = no language)."""
        default = json.dumps({"type": "default"}, sort_keys=True)
        return {lang: cmds for (scope, lang), cmds in self._commands.items() if scope == default}

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Wait until ``predicate()`` is truthy, re-checking on every state change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout}s")
            try:
                await asyncio.wait_for(self._tick.wait(), remaining)
            except TimeoutError:
                pass
        return result

    async def wait_for_message(self, chat_id: int, contains: str | None = None, *,
                               since: int | None = None, timeout: float = 10.0,
                               predicate: Callable[[FakeMessage], bool] | None = None) -> FakeMessage:
        """The first bot message sent or edited after the user's latest action that matches.

        ``since=0`` searches the whole chat history instead.
        """
        start = self._last_action_seq.get(chat_id, 0) if since is None else since

        def match() -> FakeMessage | None:
            for message in self.messages(chat_id):
                if message.seq > start and (contains is None or contains in message.content) and (
                        predicate is None or predicate(message)):
                    return message
            return None

        try:
            return await self.wait_for(match, timeout)
        except AssertionError:
            seen = [m.content[:80] for m in self.messages(chat_id)[-5:]]
            raise AssertionError(f"no bot message containing {contains!r} in chat {chat_id} "
                                 f"within {timeout}s; latest: {seen}") from None


# --------------------------------------------------------------------------- helpers


def _update_type(update: JSON) -> str:
    return next(key for key in update if key != "update_id")


def _media_meta(kind: str, fields: JSON, filename: str | None, content_type: str | None) -> JSON:
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


def _is_image(data: bytes) -> bool:
    return _image_size(data) is not None


def _photo_sides(width: int, height: int) -> list[int]:
    longest = max(width, height)
    return [side for side in (90, 320, 800) if side < longest] + [min(longest, 2560)]


def make_png(width: int = 64, height: int = 64, color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A small valid PNG for photo tests."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()
