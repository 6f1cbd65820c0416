"""The fake Telegram Bot API: an aiohttp server on 127.0.0.1 that answers the bot's requests.

The bot under test talks to it exactly as to Telegram (aiogram's AiohttpSession with
``TelegramAPIServer.from_base(tg.base_url)``). Every method checks its request against the limits of
``shared/telegram/PLATFORM.md`` (``telegram_limits``) and answers with Telegram's own error format, so a bot that
passes here does not get rejected by real Telegram for them. What it sends and edits is kept in a
``TelegramState``; the user side is ``telegram_user``.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from .local_site import serve
from .telegram_limits import (
    CHAT_ACTIONS,
    MAX_CALLBACK_ANSWER,
    MAX_GET_FILE,
    MAX_UPLOAD,
    MAX_UPLOAD_PHOTO,
    MAX_URL_OTHER,
    MAX_URL_PHOTO,
    MEDIA_KINDS,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    URL_DOCUMENT_EXTS,
    URL_DOCUMENT_TYPES,
    WRONG_FILE,
    ApiError,
    bad_request,
    check_caption,
    check_text,
    validate_markup,
)
from .telegram_state import FakeMessage, StoredFile, TelegramState, is_image, media_meta
from .telegram_webhook import WebhookDelivery

JSON = dict[str, Any]


@dataclass
class UploadedFile:
    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedCall:
    method: str
    params: JSON
    files: dict[str, UploadedFile]
    status: int  # 0 while the call is still being handled
    response: JSON


@dataclass
class Hold:
    """A request held by the server (``BotApiServer.hold_next``): ``arrived`` is set once one came; ``release()``
    lets it go — answered with an error and never carried out, as a request lost with a killed bot."""

    method: str
    match: Callable[[JSON], bool]
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


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


# --------------------------------------------------------------------------- the server


Handler = Callable[[_Params], Awaitable[Any]]
_METHODS = ("get_me", "get_updates", "delete_webhook", "set_webhook", "get_webhook_info", "set_my_commands",
            "get_my_commands", "delete_my_commands", "send_message", "edit_message_text", "edit_message_caption",
            "edit_message_reply_markup", "delete_message", "answer_callback_query", "send_chat_action",
            "send_media_group", "get_file", "copy_message", "send_invoice", "create_invoice_link",
            "answer_pre_checkout_query", "refund_star_payment", "get_star_transactions")


class BotApiServer:
    """The Bot API over HTTP: ``start()`` serves it on 127.0.0.1 and sets ``base_url``."""

    def __init__(self, state: TelegramState, token: str, *, fetch_urls: bool = True, fetch_timeout: float = 3.0,
                 callback_query_ttl: float = 15.0) -> None:
        self.state = state
        self.token = token
        self.fetch_urls = fetch_urls
        self.fetch_timeout = fetch_timeout
        self.callback_query_ttl = callback_query_ttl
        self.calls: list[RecordedCall] = []
        self.url_fetches: list[tuple[str, int | None]] = []  # (url, bytes fetched)
        self.webhook = WebhookDelivery(state)
        self._failures: dict[str, list[_Failure]] = {}
        self._holds: list[Hold] = []
        self._poller: asyncio.Event | None = None
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self.base_url = ""
        self._handlers: dict[str, Handler] = self._build_handlers()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        # Uploads must reach our own size checks instead of aiohttp's plain-text 413.
        app = web.Application(client_max_size=4 * MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self._runner, self.base_url = await serve(app, shutdown_timeout=1.0)
        self._http = ClientSession()

    def fail_next(self, method: str, error_code: int = 500, description: str = "Internal Server Error",
                  *, retry_after: int | None = None, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with this error."""
        self._failures.setdefault(method.lower(), []).append(
            _Failure(error_code, description, retry_after, times))

    def hold_next(self, method: str, match: Callable[[JSON], bool] = lambda _: True) -> Hold:
        """Hold the next call of ``method`` whose parameters pass ``match`` until the test releases it."""
        hold = Hold(method.lower(), match)
        self._holds.append(hold)
        return hold

    async def close(self) -> None:
        for hold in self._holds:
            hold.release()
        self._closing = True  # releases pending long polls at once
        self.state.touch()
        await self.webhook.close()
        if self._http:
            await self._http.close()
        if self._runner:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- HTTP plumbing

    def _build_handlers(self) -> dict[str, Handler]:
        # Bot API method names are case-insensitive: getMe → "getme" → self._get_me.
        handlers: dict[str, Handler] = {name.replace("_", ""): getattr(self, f"_{name}") for name in _METHODS}
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
        self.calls.append(call)
        self.state.touch()
        call.status, call.response = await self._dispatch(method, params)
        self.state.touch()
        return web.json_response(call.response, status=call.status)

    async def _dispatch(self, method: str, params: _Params) -> tuple[int, JSON]:
        handler = self._handlers.get(method.lower())
        if handler is None:
            return 404, ApiError(404, "Not Found: method not found").body()
        hold = next((h for h in self._holds if h.method == method.lower() and h.match(params.decoded())), None)
        if hold is not None:
            self._holds.remove(hold)
            hold.arrived.set()
            await hold.released.wait()
            return 500, ApiError(500, "Internal Server Error: the request was held and dropped").body()
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
            # As the Bot API server does: a JSON body's fields become strings, nested values JSON text.
            fields.update({key: value if isinstance(value, str) else json.dumps(value)
                           for key, value in (await request.json()).items()})
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
        stored = self.state.files_by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=stored.data or b"", content_type="application/octet-stream")

    def _injected_failure(self, method: str) -> None:
        queue = self._failures.get(method.lower())
        if not queue:
            return
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        if failure.code == 429:
            self.state.count_429 += 1
        raise ApiError(failure.code, failure.description, failure.retry_after)

    # ----------------------------------------------------------------- bot setup methods

    async def _get_me(self, _: _Params) -> JSON:
        return self.state.bot_user

    async def _accept(self, _: _Params) -> bool:
        return True

    async def _delete_webhook(self, p: _Params) -> bool:
        self.webhook.delete()
        if p.flag("drop_pending_updates"):
            self.state.updates.clear()
        return True

    async def _set_webhook(self, p: _Params) -> bool:
        """An empty URL removes the webhook, as in Telegram. (Telegram also wants https on port 443, 80, 88 or
        8443; the fake takes the bot's plain http on 127.0.0.1.)"""
        url = p.text("url") or ""
        if not url:
            return await self._delete_webhook(p)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.text("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = p.integer("max_connections", 40) or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be 1-100")
        if p.flag("drop_pending_updates"):
            self.state.updates.clear()
        self.webhook.set(url, secret, max_connections, p.json_value("allowed_updates"))
        return True

    async def _get_webhook_info(self, _: _Params) -> JSON:
        return self.webhook.info()

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
        self.state.commands[self._commands_key(p)] = commands
        return True

    async def _get_my_commands(self, p: _Params) -> list[JSON]:
        return self.state.commands.get(self._commands_key(p), [])

    async def _delete_my_commands(self, p: _Params) -> bool:
        self.state.commands.pop(self._commands_key(p), None)
        return True

    # ----------------------------------------------------------------- getUpdates

    async def _get_updates(self, p: _Params) -> list[JSON]:
        if self.webhook.url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = p.integer("offset", 0) or 0
        limit = min(max(p.integer("limit", 100) or 100, 1), 100)
        allowed = p.json_value("allowed_updates")
        if allowed is not None:  # remembered between calls, as Telegram does; [] means all
            self.state.allowed_updates = set(allowed) or None
        self.state.confirm_updates(offset)
        return await self._long_poll(offset, limit, max(p.integer("timeout", 0) or 0, 0))

    async def _long_poll(self, offset: int, limit: int, timeout: int) -> list[JSON]:
        if self._poller is not None:
            self._poller.set()  # only one poller per token: the older one gets 409
        me = self._poller = asyncio.Event()
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while True:
                batch = self.state.pending_updates(offset, limit)
                remaining = deadline - asyncio.get_running_loop().time()
                if batch or remaining <= 0 or self._closing:
                    return batch
                if me.is_set():
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                        "make sure that only one bot instance is running")
                await self.state.changed(remaining)
        finally:
            if self._poller is me:
                self._poller = None

    # ----------------------------------------------------------------- sending

    async def _send_message(self, p: _Params) -> JSON:
        chat_id = p.chat_id()
        text, entities = check_text(p.text("text"), p.text("parse_mode"))
        markup = validate_markup(p.json_value("reply_markup"))
        self.state.check_recipient(chat_id)
        self.state.throttle(chat_id)
        message = self.state.store(chat_id, "text", text=text, entities=entities, reply_markup=markup,
                              parse_mode=p.text("parse_mode"))
        return self.state.message_object(message)

    def _media_sender(self, kind: str) -> Handler:
        async def send(p: _Params) -> JSON:
            chat_id = p.chat_id()
            caption, entities = check_caption(p.text("caption"), p.text("parse_mode"))
            markup = validate_markup(p.json_value("reply_markup"))
            self.state.check_recipient(chat_id)
            stored = await self._resolve_media(p, p.text(kind), kind, p.fields)
            self.state.throttle(chat_id)
            message = self.state.store(chat_id, kind, caption=caption, entities=entities, file=stored,
                                  reply_markup=markup, parse_mode=p.text("parse_mode"))
            return self.state.message_object(message)

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
        captions = [check_caption(i.get("caption"), i.get("parse_mode")) for i in items]
        self.state.check_recipient(chat_id)
        files = [await self._resolve_media(p, i.get("media"), i.get("type", ""), i) for i in items]
        self.state.throttle(chat_id)  # an album counts as one send
        group_id = str(next(self.state.file_counter) + 10**12)
        messages = [self.state.store(chat_id, stored.kind, caption=caption, entities=entities,
                                file=stored, media_group_id=group_id)
                    for stored, (caption, entities) in zip(files, captions)]
        return [self.state.message_object(m) for m in messages]

    async def _copy_message(self, p: _Params) -> JSON:
        chat_id = p.chat_id()
        source = self.state.message(p.chat_id("from_chat_id"), p.integer("message_id", 0) or 0)
        if source is None or source.deleted:
            raise bad_request("message to copy not found")
        caption = source.caption
        if p.text("caption") is not None:
            caption, _ = check_caption(p.text("caption"), p.text("parse_mode"))
        self.state.check_recipient(chat_id)
        self.state.throttle(chat_id)
        copy = self.state.store(chat_id, source.kind, text=source.text, caption=caption,
                           file=source.file, reply_markup=validate_markup(p.json_value("reply_markup")))
        return {"message_id": copy.message_id}

    async def _send_chat_action(self, p: _Params) -> bool:
        chat_id = p.chat_id()
        action = p.text("action") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.state.check_recipient(chat_id)
        self.state.chat_actions.setdefault(chat_id, []).append(action)
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
        stored = self.state.files.get(value)
        if stored is None:
            raise bad_request(WRONG_FILE)
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return stored

    def _stored_upload(self, upload: UploadedFile, kind: str, meta: JSON) -> StoredFile:
        limit = MAX_UPLOAD_PHOTO if kind == "photo" else MAX_UPLOAD
        if len(upload.data) > limit:
            raise ApiError(413, "Request Entity Too Large")
        file_meta = media_meta(kind, meta, upload.filename, upload.content_type)
        return self.state.new_file(kind, upload.data, None, file_meta, upload.filename)

    async def _stored_url(self, url: str, kind: str, meta: JSON) -> StoredFile:
        data, content_type = await self._fetch(url, kind) if self.fetch_urls else (None, None)
        name = urlsplit(url).path.rsplit("/", 1)[-1] or None
        if kind == "document":
            ext = (name or "").rsplit(".", 1)[-1].lower()
            typed_ok = content_type in URL_DOCUMENT_TYPES if content_type else ext in URL_DOCUMENT_EXTS
            if not (typed_ok or ext in URL_DOCUMENT_EXTS):
                raise bad_request("wrong type of the web page content")
        elif content_type and content_type.startswith("text/") or (
                kind == "photo" and data is not None and not is_image(data)):
            raise bad_request("wrong type of the web page content")
        stored = self.state.new_file(kind, data, None, media_meta(kind, meta, name, content_type), name)
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

    def _file_object(self, stored: StoredFile) -> JSON:
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": stored.size, "file_path": stored.file_path}

    async def _get_file(self, p: _Params) -> JSON:
        stored = self.state.files.get(p.text("file_id") or "")
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
        message = self.state.message(chat_id, p.integer("message_id", 0) or 0)
        if message is None or message.deleted:
            if (chat_id, p.integer("message_id", 0)) in self.state.user_messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        self.state.check_recipient(chat_id)
        return message

    def _apply_edit(self, message: FakeMessage, *, text: str | None, caption: str | None,
                    entities: list[JSON], reply_markup: JSON | None) -> JSON:
        """Apply a full new state; an omitted inline keyboard is removed, as in Telegram."""
        if reply_markup is None and message.has_reply_keyboard:
            reply_markup = message.reply_markup  # reply keyboards are not part of the message
        if (text, caption, entities, reply_markup) == (
                message.text, message.caption, message.entities, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        if self.state.flood.count_edits:
            self.state.throttle(message.chat_id)
        self.state.edit(message, text=text, caption=caption, entities=entities, reply_markup=reply_markup)
        return self.state.message_object(message)

    async def _edit_message_text(self, p: _Params) -> JSON:
        message = self._editable(p)
        text, entities = check_text(p.text("text"), p.text("parse_mode"))
        markup = validate_markup(p.json_value("reply_markup"))
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(message, text=text, caption=None, entities=entities,
                                reply_markup=markup)

    async def _edit_message_caption(self, p: _Params) -> JSON:
        message = self._editable(p)
        caption, entities = check_caption(p.text("caption") or "", p.text("parse_mode"))
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
        message = self.state.message(*key)
        if key in self.state.user_messages:
            self.state.user_messages.discard(key)
            return True
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        return True

    async def _answer_callback_query(self, p: _Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        query = self.state.queries.get(query_id)
        if (query is None or query.answered
                or self.state.clock() - query.created > self.callback_query_ttl):
            raise bad_request(QUERY_TOO_OLD)
        if len(p.text("text") or "") > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        query.answer = {k: v for k, v in p.decoded().items() if k != "callback_query_id"}
        self.state.callback_answers[query_id] = query.answer
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
        self.state.check_recipient(chat_id)
        self.state.throttle(chat_id)
        message = self.state.store(chat_id, "invoice", reply_markup=markup, invoice=invoice)
        return self.state.message_object(message)

    async def _create_invoice_link(self, p: _Params) -> str:
        self._invoice(p)
        return f"https://t.me/$fake_invoice_{secrets.token_urlsafe(8)}"

    async def _answer_pre_checkout_query(self, p: _Params) -> bool:
        query = self.state.pre_checkouts.get(p.text("pre_checkout_query_id") or "")
        if query is None or query.answered or self.state.clock() - query.created > 10:
            raise bad_request(QUERY_TOO_OLD)  # Telegram cancels the payment after 10 s
        if not p.flag("ok") and not p.text("error_message"):
            raise bad_request("error_message is required when ok is false")
        query.answered = True
        query.answer = {"ok": p.flag("ok"), "error_message": p.text("error_message")}
        return True

    async def _refund_star_payment(self, p: _Params) -> bool:
        charge = self.state.star_charge(p.text("telegram_payment_charge_id") or "", p.integer("user_id"))
        self.state.refund_charge(charge)
        return True

    async def _get_star_transactions(self, p: _Params) -> JSON:
        """Oldest first, as the Bot API documents (and the Bot API server asks for ascending order); ``offset``
        skips that many; out-of-range values are clamped like the Bot API server does."""
        offset = max(p.integer("offset", 0) or 0, 0)
        limit = min(max(p.integer("limit", 100) or 0, 1), 100)
        return {"transactions": self.state.star_transactions[offset:offset + limit]}
