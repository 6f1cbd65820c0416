"""engine: delivery attempts counted apart from submit retries, operator alerts shared by replicas

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

`jobs.delivery_attempts` and `jobs.delivering_since`: a result that cannot be sent yet is retried for a day
(counted apart from `attempts`, the createTask retries). `operator_alerts`: when each incident was last reported,
so an alert goes out once per incident and hour whichever replica sees it.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("delivery_attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("delivering_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "operator_alerts",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_operator_alerts")),
    )


def downgrade() -> None:
    op.drop_table("operator_alerts")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("delivering_since")
        batch.drop_column("delivery_attempts")
