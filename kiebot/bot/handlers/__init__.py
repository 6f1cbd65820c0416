"""Routers, built fresh per dispatcher (an aiogram Router can have one parent only)."""
from __future__ import annotations

from aiogram import Router


def build_routers() -> list[Router]:
    from kiebot.bot.handlers import (
        admin,
        catalog,
        errors,
        fallback,
        history,
        menu,
        wizard,
    )

    return [errors.router(), admin.router(), menu.router(), catalog.router(), history.router(), wizard.router(), fallback.router()]
