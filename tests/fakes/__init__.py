"""Fakes of outside services for end-to-end tests (real HTTP servers on 127.0.0.1)."""

from .telegram_server import (
    ApiError,
    FakeMessage,
    FakeTelegram,
    FakeUser,
    FloodLimits,
    RecordedCall,
    StoredFile,
    make_png,
)

__all__ = ["ApiError", "FakeMessage", "FakeTelegram", "FakeUser", "FloodLimits", "RecordedCall",
           "StoredFile", "make_png"]
