"""Database tables. Money is integers in the bot's own unit; KIE credits are decimal strings."""
from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
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
        return self.process_bind_param(value, dialect)


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
    banned: Mapped[bool] = mapped_column(default=False, server_default=false())  # may not pay or use the bot
    # The user's last ledger row when they were told their balance ran low (None: never told); see services.balance.
    low_balance_ledger_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class LedgerKind(StrEnum):
    BONUS = "bonus"  # welcome bonus
    GRANT = "grant"  # admin /grant
    TOPUP = "topup"  # a Telegram Stars payment (key: topup:<charge id>)
    HOLD = "hold"  # balance -> held on confirm
    CHARGE = "charge"  # held -> spent on delivery
    RELEASE = "release"  # held -> balance on failure or when the actual price is lower
    REFUND = "refund"  # a refunded Stars payment taken back from the balance
    REFUND_UNDO = "refund_undo"  # a refund Telegram refused: the amount taken back is returned
    PROMO = "promo"  # a promo code redeemed (key: promo:<CODE>:<user id>)
    FREE = "free"  # a free try used by a job (no money moves; note: the UTC day)
    FREE_BACK = "free_back"  # a failed free run gives its try back (no money moves)
    REFERRAL = "referral"  # referral bonus, to the invited user and to the one who invited them


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
    price: Mapped[int] = mapped_column(BigInteger)  # user units held at confirm (0 for a free try)
    free_try: Mapped[bool] = mapped_column(default=False, server_default=false())  # started with a daily free try
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


class PaymentState(StrEnum):
    PAID = "paid"  # credited
    REFUNDING = "refunding"  # an admin refund took the amount back and asked Telegram; outcome not known yet
    REFUNDED = "refunded"


class Payment(Base):
    """A Telegram Stars payment: credited once per `charge_id` (telegram_payment_charge_id)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("stars > 0", name="stars_positive"),
        CheckConstraint("credits >= 0", name="credits_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    charge_id: Mapped[str] = mapped_column(String(255), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    stars: Mapped[int] = mapped_column(BigInteger)  # total_amount in XTR
    credits: Mapped[int] = mapped_column(BigInteger)  # bot units credited
    payload: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # "bot" (successful_payment) | "reconcile" (getStarTransactions)
    state: Mapped[str] = mapped_column(String(16), default=PaymentState.PAID)
    refund_attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refund_debited: Mapped[int | None] = mapped_column(BigInteger)  # taken back from the balance
    refund_uncovered: Mapped[int | None] = mapped_column(BigInteger)  # refunded but no longer on the balance
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StarsSync(Base):
    """How far reconciliation has read the bot's Star transactions (getStarTransactions offset)."""

    __tablename__ = "stars_sync"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)


class PromoCode(Base):
    __tablename__ = "promo_codes"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("max_uses > 0", name="max_uses_positive"),
        CheckConstraint("uses >= 0 AND uses <= max_uses", name="uses_within_max"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)  # upper case
    amount: Mapped[int] = mapped_column(BigInteger)
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class FreeTries(Base):
    """Free tries a user took on one UTC day (given back when a free run fails)."""

    __tablename__ = "free_tries"
    __table_args__ = (CheckConstraint("used >= 0", name="used_not_negative"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


class Referral(Base):
    """Who invited a user (set only when the user was brand new); rewarded once, on their first payment."""

    __tablename__ = "referrals"
    __table_args__ = (CheckConstraint("user_id <> referrer_id", name="not_self"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), primary_key=True, autoincrement=False)
    referrer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OperatorAlert(Base):
    """When an incident (e.g. `kie:402`, `orphan:<task id>`) was last reported to the operators, so every replica
    reports it once per window instead of once per job and poll."""

    __tablename__ = "operator_alerts"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SeenUpdate(Base):
    """A Telegram update id already taken in webhook mode without Redis: Telegram delivers an update again when it
    got no 2xx, and it is handled once. Rows older than WEBHOOK_DEDUP_SECONDS are pruned."""

    __tablename__ = "seen_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
