"""batches: variants of one confirmation (×N, or one parameter varied), shown and delivered together

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

`batches`: one row per confirmed batch (its status text, the album's send claim and when it was delivered).
`jobs.batch_id`: the batch a job is a variant of (NULL for a single generation).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("confirm_key", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("vary_field", sa.String(length=128), nullable=True),
        sa.Column("status_text", sa.Text(), nullable=True),
        sa.Column("album_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_batches_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.UniqueConstraint("confirm_key", name=op.f("uq_batches_confirm_key")),
    )
    op.create_index(op.f("ix_batches_user_id"), "batches", ["user_id"], unique=False)
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_jobs_batch_id"), ["batch_id"], unique=False)
        batch.create_foreign_key(batch.f("fk_jobs_batch_id_batches"), "batches", ["batch_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(batch.f("fk_jobs_batch_id_batches"), type_="foreignkey")
        batch.drop_index(batch.f("ix_jobs_batch_id"))
        batch.drop_column("batch_id")
    op.drop_index(op.f("ix_batches_user_id"), table_name="batches")
    op.drop_table("batches")
