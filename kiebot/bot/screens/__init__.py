"""Screens: pure builders, data in, `Screen(text, keyboard)` out. No I/O, no database rows; texts from Fluent."""
from kiebot.bot.screens.common import Pager, Screen, button, rows

__all__ = ["Pager", "Screen", "button", "rows"]
