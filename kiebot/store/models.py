"""Database tables. Money is integers in the bot's own unit; KIE credits are decimal strings."""
from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that always gives back an aware UTC datetime.

    SQLite keeps no time zone: values are stored as UTC text and come back naive; this type converts aware values to
    UTC on the way in (naive ones are taken as UTC) and marks values read back as UTC, so code can compare them with
    `datetime.now(UTC)` on SQLite and PostgreSQL alike. In the database it is a plain `DateTime(timezone=True)`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Named constraints, so later Alembic batch migrations on SQLite can drop or alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("held >= 0", name="held_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # Telegram user id
    language: Mapped[str | None] = mapped_column(String(8))  # chosen with /language; None = follow Telegram
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(128))
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # spendable
    held: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # reserved for running jobs
    blocked_bot: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class LedgerKind(StrEnum):
    BONUS = "bonus"  # welcome bonus
    GRANT = "grant"  # admin /grant
    TOPUP = "topup"  # payments (later)
    HOLD = "hold"  # balance -> held on confirm
    CHARGE = "charge"  # held -> spent on delivery
    RELEASE = "release"  # held -> balance on failure or when the actual price is lower


class LedgerEntry(Base):
    """An immutable money movement. sum(delta_balance) == users.balance, sum(delta_held) == users.held."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    delta_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    delta_held: Mapped[int] = mapped_column(BigInteger, default=0)
    job_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("jobs.id"), index=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # idempotency key
    note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class JobState(StrEnum):
    WAITING = "waiting"  # paid (held), waiting for a free slot (MAX_ACTIVE_PER_USER)
    SUBMITTING = "submitting"  # createTask under way; unknown outcome if the process dies here
    RUNNING = "running"  # KIE accepted it (kie_task_id set); polled until success or fail
    DELIVERING = "delivering"  # KIE succeeded; sending the result to Telegram
    DONE = "done"
    FAILED = "failed"


ACTIVE_STATES = (JobState.SUBMITTING, JobState.RUNNING, JobState.DELIVERING)
OPEN_STATES = (JobState.WAITING, *ACTIVE_STATES)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_next", "state", "next_check_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8))
    model_id: Mapped[str] = mapped_column(String(128))
    # Wizard values exactly as they go into KIE's `input` (file fields hold KIE URLs).
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Input files: [{"field", "url", "file_id", "kind", "uploaded_at", "seconds", "width", "height"}]
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    confirm_key: Mapped[str] = mapped_column(String(64), unique=True)  # one job per confirmation screen
    price: Mapped[int] = mapped_column(BigInteger)  # user units held at confirm
    credits: Mapped[str] = mapped_column(String(32))  # KIE credits quoted (decimal string)
    charged: Mapped[int | None] = mapped_column(BigInteger)  # user units finally charged
    state: Mapped[str] = mapped_column(String(16), default=JobState.WAITING, index=True)
    kie_task_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    kie_state: Mapped[str | None] = mapped_column(String(16))
    progress: Mapped[int | None] = mapped_column(Integer)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    status_text: Mapped[str | None] = mapped_column(Text)  # last text shown, to skip identical edits
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_detail: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"urls": [...], "media": "image"|...}
    delivered: Mapped[list[Any] | None] = mapped_column(JSON)  # [{"type": "photo", "file_id": ...}]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # createTask retries
    # Failed sends of a result, counted apart from `attempts`; the result stays pending for a day (engine/schedule.py).
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    delivering_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FsmRecord(Base):
    """aiogram FSM state and data, so a half-filled form survives a restart and is shared by replicas."""

    __tablename__ = "fsm"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now()
    )


class ChatThrottle(Base):
    """When a chat's status message was last edited: at most one edit per STATUS_EDIT_INTERVAL per chat."""

    __tablename__ = "chat_throttle"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DisabledModel(Base):
    """A model KIE answered "feature disabled" (505) for: not offered until an operator enables it again."""

    __tablename__ = "disabled_models"

    model_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    reason: Mapped[str] = mapped_column(String(255))
    disabled_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class OperatorAlert(Base):
    """When an incident (e.g. `kie:402`, `orphan:<task id>`) was last reported to the operators, so every replica
    reports it once per window instead of once per job and poll."""

    __tablename__ = "operator_alerts"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
