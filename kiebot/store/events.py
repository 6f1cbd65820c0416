"""The log of what changed: a generation's state, a ledger movement, a payment — each written once, when (and only
if) its transaction commits.

The repository functions that make such a change call `log_on_commit`; the line waits in the session and is written
by the session's `after_commit` event, so a rolled-back change (a lost race, a savepoint undone) never appears in the
log, and no caller logs the same change again. The log context (`kiebot.logs.bound`) of the committing code is the
one the line carries.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from kiebot.logs import fields

log = logging.getLogger("kiebot.changes")
_PENDING = "kiebot_pending_logs"
_COMMITTED = "kiebot_committed"


def log_on_commit(session: AsyncSession, message: str, **values: Any) -> None:
    """Queue one INFO line (`message`, then `values` as structured fields) for when `session` commits."""
    sync = session.sync_session
    transaction = sync.get_nested_transaction() or sync.get_transaction()
    sync.info.setdefault(_PENDING, []).append((transaction, message, values))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info[_COMMITTED] = True  # fires for a savepoint's release too: the outermost end decides


@event.listens_for(Session, "after_transaction_end")
def _write(session: Session, transaction: SessionTransaction) -> None:
    committed = session.info.pop(_COMMITTED, False)
    if transaction.parent is not None:  # a savepoint (or an inner block): its lines wait for the outermost end
        return
    pending = session.info.pop(_PENDING, ())
    if committed:
        for _, message, values in pending:
            log.info(message, extra=fields(**values))


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, rolled_back: SessionTransaction) -> None:
    """Forget the lines of the transaction rolled back, a savepoint's only or the whole session's."""
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [item for item in pending if not _inside(item[0], rolled_back)]


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return outer.parent is None  # a line made before any transaction began goes with the outermost one
