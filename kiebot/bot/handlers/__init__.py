"""Routers, built fresh per dispatcher (an aiogram Router can have one parent only). Each module holds one small
function per action, registered with a filter; handlers ask services, then show a screen. They never import each
other, `kiebot.store` or `kiebot.kie`."""
from __future__ import annotations

from aiogram import Router

from kiebot.bot.handlers import (
    admin,
    answers,
    catalog,
    confirm,
    errors,
    fallback,
    history,
    jobs,
    menu,
    next_steps,
    payments,
    variants,
    wizard,
)
from kiebot.bot.routing import narrow


def build_routers() -> list[Router]:
    # payments before menu (its /start links) and before answers (a payment arrives while a form is open)
    modules = (errors, admin, payments, menu, catalog, history, jobs, next_steps, wizard, confirm, variants, answers,
               fallback)  # fallback last
    return [narrow(module.router()) for module in modules]
