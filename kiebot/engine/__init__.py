"""The generation lifecycle: submit → poll → deliver → settle, driven by job rows in the database."""
from kiebot.engine.ports import Notifier, RecipientGone
from kiebot.engine.worker import Engine

__all__ = ["Engine", "Notifier", "RecipientGone"]
