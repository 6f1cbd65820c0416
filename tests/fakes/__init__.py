"""Fakes of outside services for end-to-end tests (real HTTP servers on 127.0.0.1).

The fake Telegram is split by responsibility: ``telegram_limits`` (Telegram's rules and errors),
``telegram_state`` (chats, messages, edits, files, queries, flood accounting), ``telegram_server`` (the Bot API
over HTTP), ``telegram_user`` (the user's actions and the waits) and ``telegram`` (``FakeTelegram``, all of them
behind one object).
"""

from .telegram import FakeTelegram
from .telegram_limits import ApiError
from .telegram_server import RecordedCall
from .telegram_state import FakeMessage, FloodLimits, MessageEvent, StoredFile
from .telegram_user import FakeGroup, FakeUser, make_png

__all__ = ["ApiError", "FakeGroup", "FakeMessage", "FakeTelegram", "FakeUser", "FloodLimits", "MessageEvent", "RecordedCall",
           "StoredFile", "make_png"]
