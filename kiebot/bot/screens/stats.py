"""/stats: the operator's figures (users, generations, money, the KIE account) as one message."""
from __future__ import annotations

import html

from kiebot.bot.i18n import Translate
from kiebot.bot.screens.common import Screen
from kiebot.catalog import Catalog
from kiebot.services.stats import Stats

STATE_ORDER = ("waiting", "submitting", "running", "delivering", "done", "failed")


def stats(tr: Translate, lang: str, catalog: Catalog, figures: Stats) -> Screen:
    lines = [
        tr("stats-title"),
        tr("stats-users", total=figures.users, new_today=figures.new_today, new_week=figures.new_week,
           active_today=figures.active_today, active_week=figures.active_week),
        "",
        tr("stats-generations", total=figures.generations),
    ]
    states = sorted(figures.by_state, key=lambda s: (STATE_ORDER.index(s) if s in STATE_ORDER else 99, s))
    lines += [tr("stats-state-line", state=tr(f"stats-state-{s}"), count=figures.by_state[s]) for s in states]
    if figures.top_models:
        lines.append(tr("stats-models-title"))
        for place, (model_id, count) in enumerate(figures.top_models, 1):
            model = catalog.known(model_id)
            name = model.name(lang) if model else model_id
            lines.append(tr("stats-model-line", place=place, model=html.escape(name), count=count))
    lines += [
        "",
        tr("stats-revenue", stars=figures.stars, charged=figures.charged),
        tr("stats-kie-spent", spent=figures.kie_spent, charged=figures.charged),
        tr("stats-kie-balance", credits=figures.kie_balance) if figures.kie_balance is not None
        else tr("stats-kie-balance-unknown"),
    ]
    return Screen.of("\n".join(lines))
