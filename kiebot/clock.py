"""The one wall clock of the application (tests pass their own clocks where time matters)."""
from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)
