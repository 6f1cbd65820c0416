"""Operator alerts once per incident: when each incident was last reported, shared by every replica."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.db import dialect_insert
from kiebot.store.models import OperatorAlert


async def claim_alert(session: AsyncSession, key: str, now: datetime, window: timedelta | None) -> bool:
    """True (and `now` recorded) when incident `key` was not reported within `window` (None: ever).

    One upsert with a conditional DO UPDATE, so replicas racing on one incident get one True between them.
    """
    insert = dialect_insert(session)
    stmt = insert(OperatorAlert).values(key=key[:160], sent_at=now)
    if window is None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[OperatorAlert.key])
    else:
        stmt = stmt.on_conflict_do_update(
            index_elements=[OperatorAlert.key],
            set_={"sent_at": stmt.excluded.sent_at},
            where=OperatorAlert.sent_at <= now - window,
        )
    return (await session.execute(stmt.returning(OperatorAlert.key))).scalar_one_or_none() is not None


async def clear_alert(session: AsyncSession, key: str) -> bool:
    """Forget incident `key` (it is over): the next time it happens is a new incident. True when it was marked."""
    stmt = delete(OperatorAlert).where(OperatorAlert.key == key[:160])
    return (await session.execute(stmt.execution_options(synchronize_session=False))).rowcount > 0
