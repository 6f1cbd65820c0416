"""The balance with its latest movements, the top-up packages, receipts and the shortfall offer."""
from __future__ import annotations

from collections.abc import Sequence

from kiebot.bot.callbacks import MenuAction, MenuCB, TopupCB
from kiebot.bot.i18n import Translate
from kiebot.bot.screens.common import Screen, button
from kiebot.bot.screens.menu import home_button
from kiebot.services.money import BalanceView, Movement
from kiebot.services.stars import StarsPackage


def signed(amount: int) -> str:
    return f"+{amount}" if amount > 0 else f"−{-amount}" if amount < 0 else "0"


def movement_line(tr: Translate, movement: Movement) -> str:
    return tr("movement-line", when=movement.when, what=tr(f"ledger-kind-{movement.kind}"),
              amount=signed(movement.amount))


def balance(tr: Translate, view: BalanceView, *, link: str, referral_bonus: int, with_home: bool) -> Screen:
    lines = [tr("balance", balance=view.balance)]
    if view.held:
        lines.append(tr("balance-held", held=view.held))
    lines += ["", tr("balance-movements")]
    lines += [movement_line(tr, m) for m in view.movements] or [tr("movement-none")]
    if referral_bonus:
        lines += ["", tr("balance-referral", bonus=referral_bonus, link=link)]
    kb = [[button(tr("btn-topup"), MenuCB(action=MenuAction.TOPUP))]]
    return Screen.of("\n".join(lines), kb + (home_button(tr) if with_home else []))


def packages(tr: Translate, offered: Sequence[StarsPackage]) -> Screen:
    kb = [[button(tr("topup-package", stars=p.stars, credits=p.credits), TopupCB(stars=p.stars))] for p in offered]
    return Screen.of(tr("topup-title"), kb)


def shortfall(tr: Translate, missing: int, balance_now: int, package: StarsPackage | None) -> Screen:
    """After a confirm the balance did not cover: what is missing and the one package that covers it (paying brings
    the same confirmation back)."""
    refusal = tr("not-enough-balance", shortfall=missing, balance=balance_now)
    if package is None:
        return Screen.of(refusal + "\n" + tr("topup-too-much", shortfall=missing))
    offer = button(tr("btn-topup-for", credits=package.credits, stars=package.stars), TopupCB(stars=package.stars))
    return Screen.of(refusal + "\n" + tr("topup-shortfall", shortfall=missing), [[offer]])
