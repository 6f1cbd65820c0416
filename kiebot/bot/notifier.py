"""The engine's Telegram adapter: the status message, result delivery, input downloads, operator alerts."""
from __future__ import annotations

import html
import logging
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
)
from aiogram.types import (
    BufferedInputFile,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
)

from kiebot.bot.flood import in_background
from kiebot.bot.i18n import Translate, Translator
from kiebot.bot.screens import Screen
from kiebot.bot.screens.batch_status import batch_screen
from kiebot.bot.screens.next_steps import item_title
from kiebot.bot.screens.status import JobStatus, status_screen
from kiebot.bot.screens.variants import variant_label
from kiebot.bot.ui import edit_or_send
from kiebot.catalog import Catalog, ModelSpec
from kiebot.clock import utcnow
from kiebot.config import Settings
from kiebot.engine.ports import RecipientGone
from kiebot.services import batches
from kiebot.services.account import AccountService
from kiebot.services.next_steps import Step, lyrics_of, offered_steps, result_of
from kiebot.store import batches as batch_repo
from kiebot.store import jobs as job_repo
from kiebot.store.db import Database
from kiebot.store.models import Job, JobState

log = logging.getLogger(__name__)
ALBUM_SIZE = 10  # sendMediaGroup takes 2-10 items
TEXT_CHUNK = 3000  # characters of text per message: with the caption and HTML escapes, within Telegram's 4096
MAX_COVER_BYTES = 200 * 1024  # Telegram's limit for an audio's thumbnail
UPLOAD_LIMITS = {"photo": 10 * 1024 * 1024, "other": 50 * 1024 * 1024}
EXTENSIONS = {
    "photo": {".png", ".jpg", ".jpeg", ".webp"},
    "video": {".mp4", ".mov", ".webm"},
    "audio": {".mp3", ".wav", ".m4a", ".ogg", ".flac", ".aac"},
}
INPUT_MEDIA = {"photo": InputMediaPhoto, "video": InputMediaVideo, "audio": InputMediaAudio, "document": InputMediaDocument}


class TelegramNotifier:
    def __init__(self, bot: Bot, db: Database, accounts: AccountService, catalog: Catalog, translator: Translator,
                 settings: Settings) -> None:
        self.bot = bot
        self.accounts = accounts
        self.sessionmaker = db.write
        self.reader = db.read
        self.catalog = catalog
        self.translator = translator
        self.settings = settings

    # --- status message --------------------------------------------------------------------------
    async def show_status(self, job: Job, *, final: bool = False) -> None:
        if job.batch_id is not None:
            await self._show_batch_status(job, final=final)
            return
        screen = await self._status_screen(job)
        text = screen.text
        if text == job.status_text or not await self._edit_slot(job.chat_id, final):
            return
        with in_background():  # the user's own answers go first
            message_id = await self._put_status(job, screen)  # no transaction is open during Telegram I/O
        async with self.sessionmaker() as session:
            await job_repo.set_status_message(session, job.id, message_id, text)
            await session.commit()
        job.status_text, job.status_message_id = text, message_id

    async def _status_screen(self, job: Job) -> Screen:
        ahead = balance = None
        if job.state == JobState.WAITING:
            async with self.reader() as session:
                ahead = await job_repo.own_line(session, job, self.settings.max_active_per_user)
        elif job.state in (JobState.DONE, JobState.FAILED):  # settled: say what the balance is now
            balance = (await self.accounts.get(job.user_id)).balance
        tr = self.translator.bind(job.language)
        steps = self._next_steps(job) if job.state == JobState.DONE else ()
        return status_screen(tr, job.language, job_status(job, ahead, balance, steps), self.catalog.known(job.model_id),
                             offered=self.catalog.get(job.model_id) is not None)

    def _next_steps(self, job: Job) -> tuple[Step, ...]:
        result = result_of(job, self.catalog)
        return offered_steps(self.catalog, result, self.settings.upload_ttl_hours, utcnow()) if result else ()

    async def _show_batch_status(self, job: Job, *, final: bool) -> None:
        """A variant's change shows in its batch's one status message (a variant's end always does)."""
        assert job.batch_id is not None
        async with self.reader() as session:
            batch = await batches.batch_view(session, job.batch_id)
            shown = await batch_repo.get_batch(session, job.batch_id)
        if batch is None or shown is None:
            return
        balance = (await self.accounts.get(job.user_id)).balance if batch.ended else None
        tr = self.translator.bind(job.language)
        screen = batch_screen(tr, job.language, batch, self.catalog.known(job.model_id), balance,
                              offered=self.catalog.get(job.model_id) is not None)
        if screen.text == shown.status_text or not await self._edit_slot(job.chat_id, final):
            return
        with in_background():
            message_id = await self._put_status(job, screen)
        async with self.sessionmaker() as session:
            await batch_repo.set_status(session, job.batch_id, message_id, screen.text)
            await session.commit()
        job.status_message_id = message_id

    async def _edit_slot(self, chat_id: int, final: bool) -> bool:
        """At most one progress edit per STATUS_EDIT_INTERVAL per chat. A final state is always shown
        (the flood control still spaces it within Telegram's per-chat limit)."""
        async with self.sessionmaker() as session:
            taken = await job_repo.try_take_edit_slot(session, chat_id, utcnow(), self.settings.status_edit_interval)
            await session.commit()
        return taken or final

    async def _put_status(self, job: Job, screen: Screen) -> int | None:
        try:
            return await edit_or_send(self.bot, job.chat_id, job.status_message_id, screen)
        except TelegramForbiddenError:
            await self._mark_blocked(job.user_id)
            return job.status_message_id

    # --- results --------------------------------------------------------------------------------
    async def deliver(self, job: Job, urls: list[str]) -> list[dict[str, Any]]:
        model = self.catalog.known(job.model_id)
        tr = self.translator.bind(job.language)
        caption = tr("result-caption", model=html.escape(model.name(job.language) if model else job.model_id), job=job.id)
        result = job.result or {}
        items, text = list(result.get("items") or []), result.get("text")
        if not urls and not text:
            raise RuntimeError("KIE reported success without a result")
        try:
            with in_background():  # the user's own answers go first
                sent = await self._send_files(job.chat_id, model, urls, items, caption, tr)
                if text:
                    sent += await self._send_text(job.chat_id, str(text), caption)
                return sent
        except TelegramForbiddenError as exc:
            await self._mark_blocked(job.user_id)
            raise RecipientGone(str(exc)) from exc

    async def _send_files(self, chat_id: int, model: ModelSpec | None, urls: list[str], items: list[dict[str, Any]],
                          caption: str, tr: Translate) -> list[dict[str, Any]]:
        if not urls:
            return []
        kind = media_kind(model, urls[0])
        if kind == "audio" and len(items) == len(urls):  # Suno tracks: each with its title, cover and length
            return [await self._send_track(chat_id, item, caption, tr) for item in items]
        if len(urls) == 1:
            return [await self._send_one(chat_id, kind, urls[0], caption)]
        return await self._send_album(chat_id, kind, urls, caption)

    async def _send_track(self, chat_id: int, item: dict[str, Any], caption: str, tr: Translate) -> dict[str, Any]:
        """A track as audio with its title (a separated part's name in the user's language), length and cover art
        (Telegram takes a cover only as an upload)."""
        cover = await _download(item["cover_url"], MAX_COVER_BYTES) if item.get("cover_url") else None
        seconds = item.get("seconds")
        try:
            message = await self.bot.send_audio(
                chat_id, item["url"], caption=caption, title=item_title(tr, item.get("title"), item.get("stem")) or None,
                duration=round(seconds) if isinstance(seconds, (int, float)) else None,
                thumbnail=BufferedInputFile(cover, "cover.jpg") if cover else None)
            return _sent_file(message)
        except TelegramBadRequest as exc:  # Telegram could not fetch the track or refused the cover
            log.info("track by URL refused (%s); sending it as a plain file", exc.message)
            return await self._send_one(chat_id, "audio", item["url"], caption)

    async def _send_text(self, chat_id: int, text: str, caption: str) -> list[dict[str, Any]]:
        """A text result (lyrics, a style description): the caption, then the text in messages of Telegram's size."""
        sent = []
        for start in range(0, len(text), TEXT_CHUNK):  # cut before escaping: an entity is never split
            part = html.escape(text[start : start + TEXT_CHUNK])
            message = await self.bot.send_message(chat_id, f"{caption}\n\n{part}" if start == 0 else part)
            sent.append({"type": "text", "message_id": message.message_id})
        return sent

    async def _send_album(self, chat_id: int, kind: str, urls: list[str], caption: str) -> list[dict[str, Any]]:
        return await self._send_captioned(chat_id, kind, [(url, caption if i == 0 else "") for i, url in
                                                          enumerate(urls)])

    async def _send_captioned(self, chat_id: int, kind: str, items: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Albums of up to ten files of one kind, each file with its own caption ("" for none), in order."""
        sent: list[dict[str, Any]] = []
        for start in range(0, len(items), ALBUM_SIZE):
            chunk = items[start : start + ALBUM_SIZE]
            if len(chunk) == 1:
                sent.append(await self._send_one(chat_id, kind, chunk[0][0], chunk[0][1]))
                continue
            media = [INPUT_MEDIA[kind](media=url, caption=caption or None) for url, caption in chunk]
            try:
                messages = await self.bot.send_media_group(chat_id, media=media)
                sent += [_sent_file(m) for m in messages]
            except TelegramBadRequest as exc:  # Telegram could not fetch a URL: send them one by one
                log.info("album by URL refused (%s); sending files one by one", exc.message)
                for url, caption in chunk:
                    sent.append(await self._send_one(chat_id, kind, url, caption))
        return sent

    async def deliver_batch(self, jobs: list[Job], vary_field: str | None) -> dict[int, list[dict[str, Any]]]:
        """The results of a batch's variants as one album per media kind (images with images, videos with videos,
        audio as an audio group), each file captioned with its variant: its value of `vary_field`, or its number.
        `jobs`: all of the batch's jobs; those being delivered are sent. Returns what was sent, per job id.
        Raises RecipientGone."""
        first = jobs[0]
        model = self.catalog.known(first.model_id)
        tr = self.translator.bind(first.language)
        name = html.escape(model.name(first.language) if model else first.model_id)
        groups: dict[str, list[tuple[int, str, str]]] = {}
        for number, job in enumerate(jobs, start=1):  # numbered among all variants; only results are sent
            if job.state != JobState.DELIVERING:
                continue
            value = job.values.get(vary_field) if vary_field else None
            label = variant_label(tr, first.language, model, vary_field, value, number)
            caption = tr("result-caption", model=name, job=job.id) + " · " + html.escape(label)
            for url in (job.result or {}).get("urls") or []:
                groups.setdefault(media_kind(model, url), []).append((job.id, url, caption))
        sent: dict[int, list[dict[str, Any]]] = {job.id: [] for job in jobs if job.state == JobState.DELIVERING}
        try:
            with in_background():
                for kind, items in groups.items():
                    files = await self._send_captioned(first.chat_id, kind, [(url, cap) for _, url, cap in items])
                    for (job_id, _, _), file in zip(items, files, strict=True):
                        sent[job_id].append(file)
        except TelegramForbiddenError as exc:
            await self._mark_blocked(first.user_id)
            raise RecipientGone(str(exc)) from exc
        return sent

    async def _send_one(self, chat_id: int, kind: str, url: str, caption: str) -> dict[str, Any]:
        """By URL first; if Telegram cannot fetch it, download and upload; if too big, a document; then a link."""
        try:
            return _sent_file(await self._send(chat_id, kind, url, caption))
        except TelegramBadRequest as exc:
            log.info("send by URL refused (%s); uploading the file", exc.message)
        data = await _download(url)
        if data is None:
            return await self._send_link(chat_id, url, caption)
        name = PurePosixPath(urlparse(url).path).name or "result"
        if kind == "photo" and len(data) > UPLOAD_LIMITS["photo"]:
            kind = "document"
        if len(data) > UPLOAD_LIMITS["other"]:
            return await self._send_link(chat_id, url, caption)
        try:
            return _sent_file(await self._send(chat_id, kind, BufferedInputFile(data, name), caption))
        except TelegramBadRequest:
            if kind == "document":
                return await self._send_link(chat_id, url, caption)
            return _sent_file(await self._send(chat_id, "document", BufferedInputFile(data, name), caption))

    async def _send(self, chat_id: int, kind: str, media: Any, caption: str) -> Message:
        if kind == "photo":
            return await self.bot.send_photo(chat_id, media, caption=caption)
        if kind == "video":
            return await self.bot.send_video(chat_id, media, caption=caption)
        if kind == "audio":
            return await self.bot.send_audio(chat_id, media, caption=caption)
        return await self.bot.send_document(chat_id, media, caption=caption)

    async def _send_link(self, chat_id: int, url: str, caption: str) -> dict[str, Any]:
        message = await self.bot.send_message(chat_id, f"{caption}\n{html.escape(url)}")
        return {"type": "link", "url": url, "message_id": message.message_id}

    # --- the rest ---------------------------------------------------------------------------------
    async def download(self, file_id: str) -> bytes:
        try:
            buffer = await self.bot.download(file_id)
        except (TelegramBadRequest, TelegramNotFound) as exc:
            raise RecipientGone(f"input file no longer available: {exc.message}") from exc
        assert buffer is not None
        return buffer.read()

    async def tell(self, user_id: int, text_id: str, **params: Any) -> None:
        """A notice outside the user's own actions (a payment found by reconciliation…), in their chosen language."""
        lang = await self.accounts.language_of(user_id) or self.translator.default_language
        try:
            await self.bot.send_message(user_id, self.translator.get(lang, text_id, **params))
        except TelegramForbiddenError:
            await self._mark_blocked(user_id)

    async def alert_operators(self, alert: str, **params: Any) -> None:
        log.error("operator alert: %s %s", alert, params)
        for admin_id in self.settings.admin_ids:
            chosen = await self.accounts.language_of(admin_id)
            text = self.translator.get(chosen or self.translator.default_language, alert, **params)
            try:
                await self.bot.send_message(admin_id, html.escape(text))
            except Exception as exc:  # an unreachable admin must not stop the others
                log.warning("could not alert admin %s: %s", admin_id, type(exc).__name__)

    async def _mark_blocked(self, user_id: int) -> None:
        await self.accounts.mark_blocked(user_id)


def job_status(job: Job, ahead: int | None = None, balance: int | None = None,
               next_steps: tuple[Step, ...] = ()) -> JobStatus:
    return JobStatus(job.id, job.model_id, str(job.state), job.price, job.charged, job.kie_state, job.progress,
                     job.error_code, ahead, bool(job.free_try), balance, next_steps, bool(lyrics_of(job)))


def media_kind(model: ModelSpec | None, url: str) -> str:
    """How to send a result: by its file extension, else by the model's category."""
    suffix = PurePosixPath(urlparse(url).path).suffix.lower()
    for kind, extensions in EXTENSIONS.items():
        if suffix in extensions:
            return kind
    category = model.category if model else ""
    return {"image": "photo", "video": "video", "audio": "audio"}.get(category, "document")


def _sent_file(message: Message) -> dict[str, Any]:
    for kind in ("video", "audio", "document", "animation", "voice"):
        item = getattr(message, kind)
        if item is not None:
            return {"type": kind, "file_id": item.file_id, "message_id": message.message_id}
    if message.photo:
        return {"type": "photo", "file_id": message.photo[-1].file_id, "message_id": message.message_id}
    return {"type": "message", "message_id": message.message_id}


async def _download(url: str, limit: int | None = None) -> bytes | None:
    """The file's bytes; None when it cannot be fetched or is larger than `limit`."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as http:
            async with http.get(url) as response:
                response.raise_for_status()
                if limit is None:
                    return await response.read()
                chunks, size = [], 0
                async for chunk in response.content.iter_chunked(64 * 1024):  # read(n) may stop short of n
                    size += len(chunk)
                    if size > limit:
                        return None
                    chunks.append(chunk)
                return b"".join(chunks)
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.warning("could not download a result: %s", type(exc).__name__)
        return None


