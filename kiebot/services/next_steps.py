"""Continuing from a result: what can be done next with a generation, and the new form it opens.

A result's media kind names its next steps (an image: animate, edit, upscale; a video: upscale, extend; a song:
extend, cover); each step is a set of catalogue tasks, and offers the models of those tasks that can take this job
as their input: through a TASK field whose `x-parent` accepts the job's model (it receives the job's KIE task id, or
one result item's id), or else through their first file field of the result's media kind (it receives the result's
URL). A step without such a model is not offered.

The result's URL is used as it is (no re-upload): the FileRef put in the form is dated when the job finished and
carries the Telegram file id of the delivered message, so the worker's `media.refresh_expired` uploads the
Telegram copy again once KIE's link may have expired (UPLOAD_TTL_HOURS, the same caution as for uploads: KIE keeps
results 14 days per its docs, "about 24 h" per another page). A result sent only as a link has no Telegram copy:
it is offered while its link is fresh.

Only the user's own delivered jobs are continued from: everything here looks the job up by id AND user.
"""
from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from kiebot.catalog import Catalog, FieldKind, FieldSpec, ModelSpec
from kiebot.clock import utcnow
from kiebot.services.offering import Offering
from kiebot.services.wizard import Draft
from kiebot.store import jobs as job_repo
from kiebot.store.db import Database
from kiebot.store.models import Job, JobState

SHORT_LIST = 6  # models offered for one step
MAX_PARENTS = 60  # earlier generations listed for a TASK field (newest first)
PROMPT_FIELDS = ("prompt", "text", "lyrics", "title")


class Step(StrEnum):
    ANIMATE = "animate"
    EDIT = "edit"
    UPSCALE = "upscale"
    EXTEND = "extend"
    COVER = "cover"


# A result's media kind → its steps, in the order shown, each with the (category, task) pairs of its models.
STEPS: dict[str, tuple[tuple[Step, tuple[tuple[str, str], ...]], ...]] = {
    "image": (
        (Step.ANIMATE, (("video", "image-to-video"),)),
        (Step.EDIT, (("image", "image-edit"), ("image", "image-to-image"))),
        (Step.UPSCALE, (("image", "upscale"),)),
    ),
    "video": (
        (Step.UPSCALE, (("video", "upscale"),)),
        (Step.EXTEND, (("video", "video-extend"),)),
    ),
    "audio": (
        (Step.EXTEND, (("audio", "music-extend"),)),
        (Step.COVER, (("audio", "music-cover"),)),
    ),
}
DELIVERED_MEDIA = {"photo": "image", "video": "video", "animation": "video", "audio": "audio", "voice": "audio"}
DEFAULT_MIME = {"image": "image/png", "video": "video/mp4", "audio": "audio/mpeg"}


@dataclass(frozen=True)
class Result:
    """A delivered generation as the next steps see it."""

    job_id: int
    model_id: str
    task_id: str
    media: str | None  # image | video | audio | None (a text…)
    urls: tuple[str, ...]
    item_ids: tuple[str | None, ...]  # result["items"][i]["id"] (e.g. a Suno track's audioId), in the order of urls
    titles: tuple[str | None, ...]
    stems: tuple[str | None, ...]  # a separated part's name (vocals, drums…) the bot words itself; None otherwise
    file_ids: tuple[str | None, ...]  # the Telegram file id each url was delivered as (None: sent as a link)
    finished_at: datetime
    prompt: str  # what the user asked for, for the lists ("" when the form had no text)


def result_of(job: Job, catalog: Catalog) -> Result | None:
    """The job as a result to continue from; None unless it is done with a task id and result URLs."""
    result = job.result or {}
    urls = tuple(str(u) for u in result.get("urls") or ())
    if job.state != JobState.DONE or not job.kie_task_id or not urls:
        return None
    items = [i if isinstance(i, dict) else {} for i in result.get("items") or ()]
    items += [{}] * (len(urls) - len(items))
    delivered = [d if isinstance(d, dict) else {} for d in job.delivered or ()]
    delivered += [{}] * (len(urls) - len(delivered))
    model = catalog.known(job.model_id)
    media = result.get("media") or DELIVERED_MEDIA.get(str(delivered[0].get("type"))) or (model.category if model else None)
    return Result(
        job_id=job.id, model_id=job.model_id, task_id=job.kie_task_id, media=media, urls=urls,
        item_ids=tuple(_text(i.get("id")) for i in items[: len(urls)]),
        titles=tuple(_text(i.get("title")) for i in items[: len(urls)]),
        stems=tuple(_text(i.get("stem")) for i in items[: len(urls)]),
        file_ids=tuple(_text(d.get("file_id")) for d in delivered[: len(urls)]),
        finished_at=job.finished_at or job.created_at, prompt=_prompt(job.values),
    )


@dataclass(frozen=True)
class Lyrics:
    """The lyrics of one result item (a Suno track), with its title when it has one."""

    title: str | None
    text: str


def lyrics_of(job: Job) -> tuple[Lyrics, ...]:
    """The lyrics carried by a done job's result items, in their order; () when none has any (an instrumental)."""
    if job.state != JobState.DONE:
        return ()
    items = (job.result or {}).get("items") or ()
    return tuple(Lyrics(_text(i.get("title")), i["lyrics"].strip()) for i in items
                 if isinstance(i, dict) and isinstance(i.get("lyrics"), str) and i["lyrics"].strip())


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _prompt(values: dict[str, Any]) -> str:
    for name in PROMPT_FIELDS:
        if isinstance(values.get(name), str) and values[name].strip():
            return " ".join(values[name].split())
    return ""


# --- the rules ---------------------------------------------------------------------------------------------------
def parent_fields(model: ModelSpec) -> tuple[FieldSpec, ...]:
    return tuple(f for f in model.fields if f.kind == FieldKind.TASK)


def takes_as_parent(model: ModelSpec, result: Result) -> bool:
    """Every TASK field of `model` accepts this job (an output id needs the result's items to have ids)."""
    fields = parent_fields(model)
    return bool(fields) and all(
        f.parent is not None and f.parent.accepts(result.model_id)
        and (f.parent.value != "output_id" or any(result.item_ids)) for f in fields)


def media_field(model: ModelSpec, media: str | None) -> FieldSpec | None:
    """The first file field of `model` for files of kind `media`."""
    return next((f for f in model.fields if f.kind in (FieldKind.FILE, FieldKind.FILES) and f.media == media), None)


def file_usable(result: Result, ttl_hours: float, now: datetime, item: int = 0) -> bool:
    """Result item `item` can fill a file field: it has a Telegram copy to upload again, or KIE's link is fresh."""
    return result.file_ids[item] is not None or now - result.finished_at <= timedelta(hours=ttl_hours)


def fits(model: ModelSpec, result: Result, ttl_hours: float, now: datetime, item: int = 0) -> bool:
    """`model` can continue from (item `item` of) `result`: by its task id, or (a model without TASK fields) by the
    item's file."""
    if parent_fields(model):
        return takes_as_parent(model, result)
    return media_field(model, result.media) is not None and file_usable(result, ttl_hours, now, item)


def step_models(catalog: Catalog, step: Step, result: Result, ttl_hours: float, now: datetime) -> list[ModelSpec]:
    """The offered models of `step` that can continue from `result`, in catalogue order."""
    pairs = dict(STEPS.get(result.media or "", ())).get(step, ())
    return [m for category, task in pairs for m in catalog.models_in(category, task) if fits(m, result, ttl_hours, now)]


def offered_steps(catalog: Catalog, result: Result, ttl_hours: float, now: datetime) -> tuple[Step, ...]:
    """The steps shown under a result: those with at least one model that can continue from it."""
    return tuple(step for step, _ in STEPS.get(result.media or "", ())
                 if step_models(catalog, step, result, ttl_hours, now))


def parent_values(model: ModelSpec, result: Result, item: int | None) -> dict[str, str]:
    """What the TASK fields of `model` take from `result`: its task id, and the id of result item `item` for an
    output id (left out when `item` is None: the user picks the item)."""
    values: dict[str, str] = {}
    for spec in parent_fields(model):
        if spec.parent is None or not spec.parent.accepts(result.model_id):
            continue
        if spec.parent.value == "output_id":
            if item is not None and 0 <= item < len(result.item_ids) and result.item_ids[item]:
                values[spec.name] = result.item_ids[item]  # type: ignore[assignment]
        else:
            values[spec.name] = result.task_id
    return values


def result_file(result: Result, field: str, item: int) -> dict[str, Any]:
    """The FileRef (services.media) of result item `item` for `field`: KIE's URL, dated when the job finished, with
    the Telegram copy the worker uploads again once that URL may have expired."""
    url = result.urls[item]
    name = PurePosixPath(urlparse(url).path).name or f"result-{result.job_id}"
    mime = mimetypes.guess_type(name)[0] or DEFAULT_MIME.get(result.media or "", "application/octet-stream")
    return {"field": field, "url": url, "file_id": result.file_ids[item], "kind": result.media or "document",
            "file_name": name, "mime": mime, "uploaded_at": result.finished_at.isoformat(),
            "seconds": None, "width": None, "height": None}


def continued_draft(model: ModelSpec, result: Result, item: int = 0) -> Draft:
    """The form of `model` with item `item` of the result already filled in: the job's task id (and the item's id)
    in the TASK fields, or the item's file in the first file field of its kind. The rest is asked as usual."""
    item = item if 0 <= item < len(result.urls) else 0
    if parent_fields(model):
        values: dict[str, Any] = dict(parent_values(model, result, item))
        return Draft.continued(model, values, [], {name: result.job_id for name in values})
    spec = media_field(model, result.media)
    assert spec is not None, f"{model.id} takes no {result.media}"
    ref = result_file(result, spec.name, item)
    value = ref["url"] if spec.kind == FieldKind.FILE else [ref["url"]]
    return Draft.continued(model, {spec.name: value}, [ref], {})


# --- the service ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """One earlier generation (one of its items, for an output id) a TASK field may take."""

    job_id: int
    item: int  # the result item (0 for a task id)
    model_id: str
    model: ModelSpec | None  # None: a model this deployment no longer knows
    finished_at: datetime
    excerpt: str  # the item's title or the prompt
    items: int = 1  # how many items the result has (an output id lists each: "1/2", "2/2")
    stem: str | None = None  # the item is a separated part: shown by its name in the user's language


@dataclass(frozen=True)
class ParentChoices:
    candidates: tuple[Candidate, ...]
    makers: tuple[ModelSpec, ...]  # offered models that make, from scratch, results the field accepts


class StepOutcome(StrEnum):
    READY = "ready"
    NOT_FOUND = "not_found"  # not the user's job, not delivered, or no such job: an older (or forged) button
    NO_MODEL = "no_model"  # no offered model of this step takes this result (any more)


@dataclass(frozen=True)
class StepModels:
    """What a next step shows: the result's items to choose from first (`items`: their titles or None, when the
    result has several and none was chosen), else the short list of models."""

    outcome: StepOutcome
    models: tuple[ModelSpec, ...] = ()
    items: tuple[str | None, ...] = ()
    stems: tuple[str | None, ...] = ()  # per item, as Result.stems


class NextSteps:
    """The bot's calls on next steps, each one short read; the job is always looked up with the user's id."""

    def __init__(self, db: Database, offering: Offering, ttl_hours: float,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.offering = offering
        self.ttl_hours = ttl_hours
        self.clock = clock

    async def _result(self, user_id: int, job_id: int, catalog: Catalog) -> Result | None:
        async with self.db.read() as session:
            job = await job_repo.get_job(session, job_id)
        if job is None or job.user_id != user_id:
            return None
        return result_of(job, catalog)

    async def lyrics(self, user_id: int, job_id: int) -> tuple[Lyrics, ...]:
        """The lyrics of the user's done job `job_id`; () when it has none or is not the user's."""
        async with self.db.read() as session:
            job = await job_repo.get_job(session, job_id)
        return lyrics_of(job) if job is not None and job.user_id == user_id else ()

    def steps(self, catalog: Catalog, result: Result) -> tuple[Step, ...]:
        return offered_steps(catalog, result, self.ttl_hours, self.clock())

    def steps_of_job(self, catalog: Catalog, job: Job) -> tuple[Step, ...]:
        """The steps under a job the caller already holds (the notifier's final status, the history)."""
        result = result_of(job, catalog)
        return self.steps(catalog, result) if result is not None else ()

    async def models(self, user_id: int, job_id: int, step: Step, item: int, catalog: Catalog) -> StepModels:
        """What `step` under the user's job `job_id` shows: which of its items (when it has several and `item` is
        not one of them), else the short list of models."""
        result = await self._result(user_id, job_id, catalog)
        if result is None:
            return StepModels(StepOutcome.NOT_FOUND)
        found = step_models(catalog, step, result, self.ttl_hours, self.clock())
        if not found:
            return StepModels(StepOutcome.NO_MODEL)
        if len(result.urls) > 1 and not 0 <= item < len(result.urls):
            return StepModels(StepOutcome.READY, items=result.titles, stems=result.stems)
        models = (await self.offering.ordered(catalog, found))[:SHORT_LIST]  # pinned, then the most used
        return StepModels(StepOutcome.READY, tuple(models))

    async def open(self, user_id: int, job_id: int, slug: str, item: int,
                   catalog: Catalog) -> tuple[StepOutcome, tuple[ModelSpec, Draft] | None]:
        """A new form of the model `slug` continuing from item `item` of the user's job `job_id`."""
        result = await self._result(user_id, job_id, catalog)
        if result is None:
            return StepOutcome.NOT_FOUND, None
        model, item = catalog.by_slug(slug), item if 0 <= item < len(result.urls) else 0
        if model is None or not fits(model, result, self.ttl_hours, self.clock(), item):
            return StepOutcome.NO_MODEL, None
        return StepOutcome.READY, (model, continued_draft(model, result, item))

    async def choices(self, user_id: int, model: ModelSpec, spec: FieldSpec) -> ParentChoices:
        """The user's earlier generations the TASK field `spec` of `model` accepts, newest first (one entry per item
        when the model also takes an output id: every TASK field is filled from the one pick), and the offered models
        that make such results."""
        assert spec.parent is not None
        catalog = await self.offering.current()
        async with self.db.read() as session:
            jobs = await job_repo.done_jobs_of(session, user_id, spec.parent.models, MAX_PARENTS)
        per_item = any(f.parent is not None and f.parent.value == "output_id" for f in parent_fields(model))
        found: list[Candidate] = []
        for job in jobs:
            result, made_by = result_of(job, catalog), catalog.known(job.model_id)
            if result is None or not takes_as_parent(model, result):
                continue
            if not per_item:
                found.append(Candidate(job.id, 0, job.model_id, made_by, result.finished_at, result.prompt))
                continue
            found += [Candidate(job.id, i, job.model_id, made_by, result.finished_at,
                                result.titles[i] or result.prompt, len(result.urls), result.stems[i])
                      for i, item_id in enumerate(result.item_ids) if item_id]
        # The way to make one: offered accepted models, those that need no earlier task when there are any.
        offered = [m for m in (catalog.get(mid) for mid in spec.parent.models) if m is not None]
        makers = [m for m in offered if not parent_fields(m)] or offered
        return ParentChoices(tuple(found[:MAX_PARENTS]), tuple(makers))

    async def pick(self, user_id: int, model: ModelSpec, job_id: int, item: int,
                   catalog: Catalog) -> dict[str, str] | None:
        """The values the TASK fields of `model` take from the user's job `job_id` (item `item`); None when it is not
        theirs, not delivered, or not accepted by the model."""
        result = await self._result(user_id, job_id, catalog)
        if result is None or not takes_as_parent(model, result):
            return None
        values = parent_values(model, result, item)
        needed = {f.name for f in parent_fields(model) if f.parent and f.parent.accepts(result.model_id)}
        return values if set(values) == needed else None
