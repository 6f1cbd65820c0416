"""The typed services every handler may ask for, built once per process and handed to the Dispatcher.

Each field reaches handlers (and middlewares) as a keyword argument of the same name, so a handler's signature says
exactly what it uses: `async def on_balance(message: Message, account: Account, tr: Translate) -> None`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from kiebot.bot.i18n import Translator
from kiebot.config import Settings
from kiebot.services.account import AccountService
from kiebot.services.answers import InputFiles
from kiebot.services.generation import GenerationService
from kiebot.services.history import HistoryService
from kiebot.services.jobs import JobControl
from kiebot.services.money import MoneyService
from kiebot.services.next_steps import NextSteps
from kiebot.services.offering import Offering
from kiebot.services.stats import StatsService


@dataclass(frozen=True)
class AppServices:
    settings: Settings
    translator: Translator
    offering: Offering  # the catalogue as offered now; handlers receive `catalog` per update from it
    accounts: AccountService
    history: HistoryService
    generation: GenerationService
    inputs: InputFiles
    money: MoneyService
    jobs: JobControl
    stats: StatsService  # the operator's figures (/stats)
    next_steps: NextSteps  # continuing from a result

    def as_kwargs(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
