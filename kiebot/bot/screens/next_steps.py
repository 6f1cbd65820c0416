"""Continuing from a result: the next-step buttons under it, the short model list of a step, and the list of the
user's earlier generations on a step that takes one (a TASK field)."""
from __future__ import annotations

import html

from kiebot.bot.callbacks import JobAction, JobCB, ModelCB, NextAction, NextCB, ParentCB, StepAction, StepCB
from kiebot.bot.i18n import Translate
from kiebot.bot.screens.common import Keyboard, Pager, Screen, button, rows, shorten
from kiebot.bot.screens.menu import home_button
from kiebot.catalog import ModelSpec
from kiebot.services.next_steps import Candidate, Lyrics, ParentChoices, Step
from kiebot.services.wizard import Draft

PARENTS = Pager(per_page=6)
LABEL_CHARS = 60  # a button shows about this much on a phone
MIN_NAME_CHARS = 12  # a model's name cut to make room for what tells the items apart
# Telegram's limit is 4096 characters of a message's text once its HTML is parsed (escaping adds none of them); a
# part of the lyrics this long leaves room for the track's title above it.
LYRICS_PART = 3800
TITLE_CHARS = 200


def step_rows(tr: Translate, job_id: int, steps: tuple[Step, ...], *, numbered: bool = False) -> Keyboard:
    """🎬 Animate, ✏️ Edit, 🔍 Upscale… under the result of `job_id` (`numbered`: "#12 → 🎬 Animate", in a list of jobs)."""
    def label(step: Step) -> str:
        return tr("btn-next-job", step=tr(f"btn-next-{step}"), job=job_id) if numbered else tr(f"btn-next-{step}")

    buttons = [button(label(step), NextCB(action=NextAction.STEP, job_id=job_id, step=step.value)) for step in steps]
    return rows(buttons, 3)


def lyrics_row(tr: Translate, job_id: int, *, numbered: bool = False) -> Keyboard:
    """📝 Lyrics under a result whose tracks carry lyrics (`numbered`: "#12 → 📝 Lyrics", in a list of jobs)."""
    label = tr("btn-next-job", step=tr("btn-lyrics"), job=job_id) if numbered else tr("btn-lyrics")
    return [[button(label, JobCB(action=JobAction.LYRICS, job_id=job_id))]]


def lyrics_screens(tr: Translate, songs: tuple[Lyrics, ...]) -> list[Screen]:
    """The lyrics as messages: each track's title, then its lyrics, cut into parts of Telegram's size (cut before
    escaping, so an entity is never split)."""
    messages = []
    for number, song in enumerate(songs, start=1):
        title = tr("lyrics-title", title=html.escape(shorten(song.title, TITLE_CHARS))) if song.title \
            else tr("lyrics-track", number=number)
        parts = [html.escape(song.text[start : start + LYRICS_PART])
                 for start in range(0, len(song.text), LYRICS_PART)]
        messages.append(f"{title}\n\n{parts[0]}")
        messages += parts[1:]
    return [Screen.of(text) for text in messages]


def models_screen(tr: Translate, lang: str, job_id: int, step: Step, models: tuple[ModelSpec, ...],
                  item: int) -> Screen:
    """The models that can do `step` with (item `item` of) the result of `job_id`; each opens its form with it
    filled in."""
    kb = [[button(m.name(lang), NextCB(action=NextAction.MODEL, job_id=job_id, slug=m.slug, item=max(item, 0)))]
          for m in models]
    return Screen.of(tr("next-models", step=tr(f"btn-next-{step}"), job=job_id), kb + home_button(tr))


def item_title(tr: Translate, title: str | None, stem: str | None) -> str | None:
    """An item's name for the user: a separated part (vocals, drums…) in their language, else its own title."""
    return tr(f"stem-{stem}") if stem else title


def items_screen(tr: Translate, job_id: int, step: Step, titles: tuple[str | None, ...],
                 stems: tuple[str | None, ...] = ()) -> Screen:
    """A result of several files (an album, two tracks): which one the step continues from."""
    named = [item_title(tr, title, stems[i] if i < len(stems) else None) for i, title in enumerate(titles)]
    buttons = [button(shorten(title, LABEL_CHARS) if title else tr("next-item", number=i + 1),
                      NextCB(action=NextAction.STEP, job_id=job_id, step=step.value, item=i))
               for i, title in enumerate(named)]
    return Screen.of(tr("next-which", step=tr(f"btn-next-{step}"), job=job_id), rows(buttons, 4) + home_button(tr))


def candidate_label(tr: Translate, lang: str, candidate: Candidate) -> str:
    """"Model · 03.12 14:05 · 2/2 · the prompt…": which generation (which of its items), when, and what it was."""
    name = candidate.model.name(lang) if candidate.model else candidate.model_id
    parts = [name, candidate.finished_at.strftime("%d.%m %H:%M")]
    if candidate.items > 1:
        parts.append(f"{candidate.item + 1}/{candidate.items}")
    excerpt = item_title(tr, candidate.excerpt, candidate.stem)
    if excerpt:
        parts.append(excerpt)
    if candidate.stem:  # the part's name tells the stems of one separation apart: the model's name gives way
        rest = " · ".join(parts[1:])
        parts = [shorten(name, max(MIN_NAME_CHARS, LABEL_CHARS - len(rest) - 3)), rest]
    return shorten(" · ".join(parts), LABEL_CHARS)


def parent_lines(tr: Translate, lang: str, choices: ParentChoices) -> list[str]:
    """What the step says above the list: how to choose, or that there is nothing to choose from yet."""
    if choices.candidates:
        return [tr("parent-choose")]
    names = ", ".join(html.escape(m.name(lang)) for m in choices.makers)
    return [tr("parent-none", models=names or "—")]


def parent_rows(tr: Translate, lang: str, draft: Draft, choices: ParentChoices, page: int) -> Keyboard:
    """One button per earlier generation (paged), or, when there is none, the models that make one."""
    if not choices.candidates:
        return [[button("▶ " + m.name(lang), ModelCB(slug=m.slug))] for m in choices.makers[:3]]
    shown = PARENTS.slice(choices.candidates, page)
    kb: Keyboard = [[button(candidate_label(tr, lang, c), ParentCB(token=draft.token, job_id=c.job_id, item=c.item))]
                    for c in shown]
    pager = PARENTS.row(page, len(choices.candidates), lambda p: StepCB(token=draft.token, action=StepAction.PAGE, arg=p))
    if pager:
        kb.append(pager)
    return kb
