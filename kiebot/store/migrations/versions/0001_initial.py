"""initial: users, ledger, jobs, fsm, chat_throttle

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written by autogenerate, then reviewed: `UTCDateTime` is rendered as its database type `DateTime(timezone=True)`,
server defaults use portable expressions (`now()` / `false()`), indexes are created outside batch mode.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = True, now: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.func.now() if now else None, nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("first_name", sa.String(length=128), nullable=True),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("held", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("blocked_bot", sa.Boolean(), server_default=sa.false(), nullable=False),
        _ts("created_at", nullable=False, now=True),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_users_balance_not_negative")),
        sa.CheckConstraint("held >= 0", name=op.f("ck_users_held_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("confirm_key", sa.String(length=64), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.String(length=32), nullable=False),
        sa.Column("charged", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kie_task_id", sa.String(length=128), nullable=True),
        sa.Column("kie_state", sa.String(length=16), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("status_message_id", sa.BigInteger(), nullable=True),
        sa.Column("status_text", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("delivered", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _ts("next_check_at", nullable=False, now=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        _ts("lease_until"),
        _ts("created_at", nullable=False, now=True),
        _ts("submitted_at"),
        _ts("finished_at"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_jobs_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("confirm_key", name=op.f("uq_jobs_confirm_key")),
        sa.UniqueConstraint("kie_task_id", name=op.f("uq_jobs_kie_task_id")),
    )
    op.create_index(op.f("ix_jobs_state"), "jobs", ["state"], unique=False)
    op.create_index("ix_jobs_state_next", "jobs", ["state", "next_check_at"], unique=False)
    op.create_index(op.f("ix_jobs_user_id"), "jobs", ["user_id"], unique=False)
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("delta_balance", sa.BigInteger(), nullable=False),
        sa.Column("delta_held", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        _ts("created_at", nullable=False, now=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_ledger_job_id_jobs")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_ledger_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_key")),
    )
    op.create_index(op.f("ix_ledger_job_id"), "ledger", ["job_id"], unique=False)
    op.create_index(op.f("ix_ledger_user_id"), "ledger", ["user_id"], unique=False)
    op.create_table(
        "fsm",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=255), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        _ts("updated_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_fsm")),
    )
    op.create_table(
        "chat_throttle",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        _ts("edited_at", nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_chat_throttle")),
    )


def downgrade() -> None:
    op.drop_table("chat_throttle")
    op.drop_table("fsm")
    op.drop_index(op.f("ix_ledger_user_id"), table_name="ledger")
    op.drop_index(op.f("ix_ledger_job_id"), table_name="ledger")
    op.drop_table("ledger")
    op.drop_index(op.f("ix_jobs_user_id"), table_name="jobs")
    op.drop_index("ix_jobs_state_next", table_name="jobs")
    op.drop_index(op.f("ix_jobs_state"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("users")
