"""/history: the user's past generations, each with 🔁 Repeat and ✏️ Edit, the next steps of its result and 📝 Lyrics
(a song's)."""
from __future__ import annotations

import html

from kiebot.bot.callbacks import HistoryAction, HistoryCB, HistoryPageCB, MenuAction, MenuCB
from kiebot.bot.i18n import Translate
from kiebot.bot.screens.common import Pager, Screen, button
from kiebot.bot.screens.menu import home_button
from kiebot.bot.screens.next_steps import lyrics_row, step_rows
from kiebot.catalog import Catalog
from kiebot.services.history import PAGE_SIZE, HistoryPage

PAGES = Pager(per_page=PAGE_SIZE)


def history(tr: Translate, lang: str, catalog: Catalog, page: HistoryPage) -> Screen:
    if not page.items:
        return Screen.of(tr("history-empty"), [[button(tr("btn-generate"), MenuCB(action=MenuAction.CATEGORIES))]])
    lines, kb = [tr("history-title")], []
    for item in page.items:
        model = catalog.get(item.model_id)
        known = catalog.known(item.model_id)  # a model hidden or disabled since keeps its name here
        name = known.name(lang) if known else item.model_id
        lines.append(tr("history-line", job=item.job_id, model=html.escape(name), state=tr(f"state-{item.state}"),
                        price=item.amount, when=item.created_at or ""))
        if model is not None:  # a model no longer offered cannot be repeated
            kb.append([button(tr("btn-repeat", job=item.job_id), HistoryCB(action=HistoryAction.REPEAT, job_id=item.job_id)),
                       button(tr("btn-edit-repeat", job=item.job_id), HistoryCB(action=HistoryAction.EDIT, job_id=item.job_id))])
        if item.next_steps:
            kb += step_rows(tr, item.job_id, item.next_steps, numbered=True)
        if item.lyrics:
            kb += lyrics_row(tr, item.job_id, numbered=True)
    pager = PAGES.row(page.page, page.total, lambda p: HistoryPageCB(page=p))
    if pager:
        kb.append(pager)
    return Screen.of("\n".join(lines), kb + home_button(tr))
