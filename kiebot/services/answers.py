"""Applying what the user sent to the current wizard step: typed values, long texts in parts, files.

Framework-free: the bot layer turns a Telegram message into text or an `IncomingFile` and renders the outcome.
Every refusal is an `AnswerError` whose code is a Fluent message id.
"""
from __future__ import annotations

from typing import Any

from kiebot.cache import Cache
from kiebot.catalog import FieldKind, ModelSpec, form
from kiebot.kie.errors import KieError
from kiebot.services import media
from kiebot.services.media import Download, IncomingFile, Uploader
from kiebot.services.wizard import Draft

AnswerError = form.AnswerError


class UploadFailed(Exception):
    """The generation service did not take the file; the user may send it again."""


def answer_text(draft: Draft, model: ModelSpec, text: str, *, finish: bool = False) -> bool:
    """Apply a typed message. Returns False when it was one part of a longer text, kept until the rest arrives
    (`finish`: the text is complete, e.g. a .txt file or the "that is the whole text" button)."""
    spec = draft.spec(model)
    assert spec is not None, "no step to answer"
    if spec.kind in (FieldKind.FILE, FieldKind.FILES):
        raise AnswerError("err-expected-file", media=spec.media or "document")
    if spec.kind == FieldKind.OBJECTS and draft.sub is None:
        raise AnswerError("err-use-buttons")
    if spec.kind == FieldKind.TEXT:
        return _answer_long_text(draft, model, text, finish)
    value = form.parse_answer(spec, text)
    if spec.kind == FieldKind.TEXTS:
        draft.add_item(model, value)
    else:
        draft.answer(model, value)
    return True


def _answer_long_text(draft: Draft, model: ModelSpec, text: str, finish: bool) -> bool:
    """Texts longer than one message arrive in parts: keep them until a short part or Done. A part that would take
    the text over the field's limit is refused; what came before it is kept."""
    spec = draft.spec(model)
    assert spec is not None
    limit = spec.max_length
    if limit is not None and draft.partial_text and len(draft.partial_text) + len(text) > limit:
        raise AnswerError("err-text-parts-too-long", chars=len(draft.partial_text), max=limit)
    if not finish and (draft.partial_text or len(text) >= 4000):
        if not draft.append_text_part(text):
            return False
        text = ""
    full = draft.partial_text + text
    try:
        value = form.parse_answer(spec, full)
    finally:
        draft.partial_text = ""
    draft.answer(model, value)
    return True


class InputFiles:
    """Files the user sends for file fields: checked, uploaded to KIE, and remembered in the draft.

    An upload is cached by Telegram's file_unique_id for less than KIE keeps it, so the same photo sent again (or
    forwarded by another user) is not downloaded and uploaded again.
    """

    def __init__(self, uploader: Uploader, uploads: Cache | None = None) -> None:
        self.uploader = uploader
        self.uploads = uploads

    def expects_file(self, draft: Draft, model: ModelSpec) -> bool:
        spec = draft.spec(model)
        return spec is not None and spec.kind in (FieldKind.FILE, FieldKind.FILES)

    async def answer_file(self, draft: Draft, model: ModelSpec, incoming: IncomingFile | None,
                          download: Download) -> None:
        """Measure the file (its length from its bytes), upload it and answer the step with its KIE URL. Raises
        AnswerError (not a file of the kind asked, or longer than the model's priced cap), media.FileTooLarge or
        UploadFailed; the draft is unchanged then."""
        spec = draft.spec(model)
        assert spec is not None
        if not self.expects_file(draft, model):
            raise AnswerError("err-use-buttons" if spec.kind in (FieldKind.TASK, FieldKind.OBJECTS) else "err-expected-text")
        if incoming is None:
            raise AnswerError("err-expected-file", media=spec.media or "document")
        try:
            ref = await self._upload(incoming, ".".join(draft.path()), model, download)
        except media.MediaTooLong as exc:
            raise AnswerError("err-media-too-long", seconds=int(exc.seconds), max=exc.limit) from exc
        except KieError as exc:
            raise UploadFailed(str(exc)) from exc
        draft.attach_file(model, ref)

    async def _upload(self, incoming: IncomingFile, path: str, model: ModelSpec, download: Download) -> dict[str, Any]:
        if self.uploads is None or not incoming.unique_id:
            return await media.take_file(incoming, path, model, download, self.uploader)

        async def upload() -> dict[str, Any]:
            return await media.take_file(incoming, path, model, download, self.uploader)

        ref = await self.uploads.get(f"file:{incoming.unique_id}", upload)
        limit = media.length_limit(model, path)  # a file cached for another model may be over this one's cap
        if limit and ref.get("seconds") and ref["seconds"] > limit:
            raise media.MediaTooLong(ref["seconds"], limit)
        return {**ref, "field": path, "file_id": incoming.file_id}
