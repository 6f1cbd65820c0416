"""Reading what the user sent: files of any Telegram kind, and .txt documents as long texts."""
from __future__ import annotations

from aiogram import Bot
from aiogram.types import Document, Message

from kiebot.catalog import form
from kiebot.services.media import (
    TELEGRAM_DOWNLOAD_LIMIT,
    Download,
    FileTooLarge,
    IncomingFile,
    guess_name,
)

TEXT_FILE_LIMIT = 1024 * 1024


def telegram_downloader(bot: Bot) -> Download:
    async def download(file_id: str) -> bytes:
        buffer = await bot.download(file_id)
        assert buffer is not None
        return buffer.read()

    return download


def incoming_file(message: Message, media: str | None) -> IncomingFile | None:
    """The file in a message if it is of the kind the field takes (`image`, `video`, `audio`, None = any)."""
    for kind, candidate in _candidates(message):
        if media is None or kind == media:
            return candidate
    return None


def _candidates(message: Message) -> list[tuple[str, IncomingFile]]:
    found: list[tuple[str, IncomingFile]] = []
    if message.photo:
        largest = message.photo[-1]
        name, mime = guess_name("image", None, None)
        found.append(("image", IncomingFile(largest.file_id, "image", name, mime, largest.file_size, None,
                                            largest.width, largest.height, largest.file_unique_id)))
    for attr, kind in (("video", "video"), ("animation", "video"), ("video_note", "video"), ("audio", "audio"),
                       ("voice", "audio")):
        item = getattr(message, attr)
        if item is None:
            continue
        name, mime = guess_name(kind, getattr(item, "mime_type", None), getattr(item, "file_name", None))
        found.append((kind, IncomingFile(item.file_id, kind, name, mime, item.file_size, float(item.duration),
                                         getattr(item, "width", None), getattr(item, "height", None),
                                         item.file_unique_id)))
    if message.document is not None:
        doc = message.document
        kind = (doc.mime_type or "").split("/")[0]
        kind = {"image": "image", "video": "video", "audio": "audio"}.get(kind, "document")
        name, mime = guess_name(kind, doc.mime_type, doc.file_name)
        found.append((kind, IncomingFile(doc.file_id, kind, name, mime, doc.file_size,
                                                unique_id=doc.file_unique_id)))
    return found


async def read_text_document(bot: Bot, document: Document) -> str:
    """A long prompt sent as a .txt file."""
    is_text = (document.mime_type or "").startswith("text/") or (document.file_name or "").lower().endswith(".txt")
    if not is_text:
        raise form.AnswerError("err-expected-text")
    if document.file_size and document.file_size > min(TEXT_FILE_LIMIT, TELEGRAM_DOWNLOAD_LIMIT):
        raise FileTooLarge(document.file_size)
    data = await telegram_downloader(bot)(document.file_id)
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding).strip()
        except UnicodeDecodeError:
            continue
    raise form.AnswerError("err-text-encoding")
