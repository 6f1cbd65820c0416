"""money: Stars payments and reconciliation checkpoint, promo codes, free tries, referrals; users.banned,
users.low_balance_ledger_id, jobs.free_try

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

New ledger kinds need no schema change (`ledger.kind` is a string): refund, refund_undo, promo, free, free_back,
referral. Columns are added in batch mode (plain ALTER TABLE ADD COLUMN on SQLite, nothing is rebuilt).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = True, now: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.func.now() if now else None, nullable=nullable
    )


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("banned", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("low_balance_ledger_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("free_try", sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("charge_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("stars", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("refund_attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("refund_debited", sa.BigInteger(), nullable=True),
        sa.Column("refund_uncovered", sa.BigInteger(), nullable=True),
        _ts("created_at", nullable=False, now=True),
        _ts("refunded_at"),
        sa.CheckConstraint("credits >= 0", name=op.f("ck_payments_credits_not_negative")),
        sa.CheckConstraint("stars > 0", name=op.f("ck_payments_stars_positive")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("charge_id", name=op.f("uq_payments_charge_id")),
    )
    op.create_index(op.f("ix_payments_user_id"), "payments", ["user_id"], unique=False)
    op.create_table(
        "stars_sync",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stars_sync")),
    )
    op.create_table(
        "promo_codes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        _ts("expires_at"),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        _ts("created_at", nullable=False, now=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_promo_codes_amount_positive")),
        sa.CheckConstraint("max_uses > 0", name=op.f("ck_promo_codes_max_uses_positive")),
        sa.CheckConstraint("uses >= 0 AND uses <= max_uses", name=op.f("ck_promo_codes_uses_within_max")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_promo_codes")),
    )
    op.create_table(
        "free_tries",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_free_tries_used_not_negative")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_free_tries_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_free_tries")),
    )
    op.create_table(
        "referrals",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("referrer_id", sa.BigInteger(), nullable=False),
        _ts("created_at", nullable=False, now=True),
        _ts("rewarded_at"),
        sa.CheckConstraint("user_id <> referrer_id", name=op.f("ck_referrals_not_self")),
        sa.ForeignKeyConstraint(["referrer_id"], ["users.id"], name=op.f("fk_referrals_referrer_id_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_referrals_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_referrals")),
    )
    op.create_index(op.f("ix_referrals_referrer_id"), "referrals", ["referrer_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_referrals_referrer_id"), table_name="referrals")
    op.drop_table("referrals")
    op.drop_table("free_tries")
    op.drop_table("promo_codes")
    op.drop_table("stars_sync")
    op.drop_index(op.f("ix_payments_user_id"), table_name="payments")
    op.drop_table("payments")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("free_try")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("low_balance_ledger_id")
        batch.drop_column("banned")
