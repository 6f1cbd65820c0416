"""The main menu, help, balance and language screens."""
from __future__ import annotations

from kiebot.bot.callbacks import LanguageCB, MenuAction, MenuCB
from kiebot.bot.i18n import LANGUAGES, Translate
from kiebot.bot.screens.common import Screen, button
from kiebot.services.account import Account


def home(tr: Translate, account: Account) -> Screen:
    return Screen.of(tr("home", balance=account.balance), [
        [button(tr("btn-generate"), MenuCB(action=MenuAction.CATEGORIES))],
        [button(tr("btn-balance"), MenuCB(action=MenuAction.BALANCE)),
         button(tr("btn-history"), MenuCB(action=MenuAction.HISTORY))],
        [button(tr("btn-language"), MenuCB(action=MenuAction.LANGUAGE)),
         button(tr("btn-help"), MenuCB(action=MenuAction.HELP))],
    ])


def home_button(tr: Translate) -> list[list]:
    return [[button(tr("btn-home"), MenuCB(action=MenuAction.HOME))]]


def help_screen(tr: Translate, *, with_home: bool) -> Screen:
    return Screen.of(tr("help"), home_button(tr) if with_home else None)


def language(tr: Translate) -> Screen:
    return Screen.of(tr("choose-language"), [[button(tr(f"language-{code}"), LanguageCB(code=code)) for code in LANGUAGES]])


def notice(text: str) -> Screen:
    """A line of text without buttons (the form is cancelled, a value is refused…)."""
    return Screen.of(text)
