"""Deleting what the bot no longer needs: stale drafts, transient rows past their use, old raw KIE answers.

Never touched: the ledger, payments, and what /history shows and repeats (a job's model, values, files, price,
state, result and delivered file ids). Each function is one statement and returns how many rows it changed;
nothing here commits.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiebot.store.models import ChatThrottle, FreeTries, FsmRecord, Job, JobState, OperatorAlert

SETTLED = (JobState.DONE.value, JobState.FAILED.value)
# Alerts kept only for their window (per KIE code and hour: `engine.alerts.INCIDENT_WINDOW`).
WINDOWED_ALERTS = "kie:%"


async def delete_stale_drafts(session: AsyncSession, before: datetime) -> int:
    """FSM rows holding a form (a state or a draft) untouched since `before`. Other FSM rows (a group already told
    that the bot works in private chats only) are kept."""
    holds_form = or_(FsmRecord.state.is_not(None), FsmRecord.data["draft"].as_string().is_not(None))
    stmt = delete(FsmRecord).where(FsmRecord.updated_at < before, holds_form)
    return (await session.execute(stmt.execution_options(synchronize_session=False))).rowcount


async def delete_stale_alerts(session: AsyncSession, windowed_before: datetime, others_before: datetime) -> int:
    """Operator alert marks past their use: hourly incident marks sent before `windowed_before`, once-ever marks
    (an orphan task, low KIE credits) sent before `others_before`."""
    windowed = OperatorAlert.key.like(WINDOWED_ALERTS)
    stmt = delete(OperatorAlert).where(or_(
        and_(windowed, OperatorAlert.sent_at < windowed_before),
        and_(~windowed, OperatorAlert.sent_at < others_before),
    ))
    return (await session.execute(stmt.execution_options(synchronize_session=False))).rowcount


async def delete_stale_throttles(session: AsyncSession, before: datetime) -> int:
    """Per-chat status-edit marks older than `before` (a mark only matters for a few seconds)."""
    stmt = delete(ChatThrottle).where(ChatThrottle.edited_at < before)
    return (await session.execute(stmt.execution_options(synchronize_session=False))).rowcount


async def delete_old_free_tries(session: AsyncSession, before: date) -> int:
    """Free-try counters of days before `before` (the ledger keeps every use)."""
    stmt = delete(FreeTries).where(FreeTries.day < before)
    return (await session.execute(stmt.execution_options(synchronize_session=False))).rowcount


async def drop_raw_answers(session: AsyncSession, before: datetime) -> int:
    """Forget KIE's own words (`error_detail`) on jobs settled before `before`; the reason (`error_code`), the
    result and everything /history needs stay."""
    stmt = (
        update(Job)
        .where(Job.state.in_(SETTLED), Job.finished_at < before, Job.error_detail.is_not(None))
        .values(error_detail=None)
    )
    return (await session.execute(stmt.execution_options(synchronize_session=False))).rowcount
