"""Telegram's rules for what a bot may send: sizes, formatting, keyboards, and errors in Telegram's format.

Used by the fake Bot API server (``telegram_server``) to reject what real Telegram would reject.
"""

from __future__ import annotations

import html
import re
from typing import Any

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
URL_DOCUMENT_TYPES = {"application/pdf", "application/zip", "image/gif"}
URL_DOCUMENT_EXTS = {"pdf", "zip", "gif"}
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
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


def utf16_len(text: str) -> int:
    # Telegram entity offsets count UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2

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
        offset += utf16_len(chunk)
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




# --------------------------------------------------------------------------- texts


def check_text(raw: str | None, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """A message text as Telegram stores it (plain text and entities), within its limits."""
    plain, entities = render_text(raw or "", parse_mode)
    if not plain.strip():
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    return plain, entities


def check_caption(raw: str | None, parse_mode: str | None) -> tuple[str | None, list[JSON]]:
    if raw is None:
        return None, []
    plain, entities = render_text(raw, parse_mode)
    if len(plain) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return plain or None, entities
