"""Ledger movements reported to an observer (the App's metrics) once their transaction has committed.

A session made by `Database.of(engine, observer=...)` carries the observer in `session.info`; the ledger's write
path notes each row it wrote (`note_ledger`), and the notes are handed over on COMMIT or forgotten on ROLLBACK, so
what is counted is what was stored. Sessions without an observer note nothing.
"""
from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

OBSERVER = "kiebot_store_observer"
_NOTED = "kiebot_store_noted"


class StoreObserver(Protocol):
    def ledger_moved(self, kind: str) -> None: ...


def note_ledger(session: AsyncSession, kind: str) -> None:
    if session.info.get(OBSERVER) is not None:
        session.info.setdefault(_NOTED, []).append(kind)


@event.listens_for(Session, "after_commit")
def _report(session: Session) -> None:
    observer: Any = session.info.get(OBSERVER)
    for kind in session.info.pop(_NOTED, ()):
        observer.ledger_moved(kind)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_NOTED, None)
