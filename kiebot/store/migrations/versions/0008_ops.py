"""ops: indexes for the queries the bot runs most

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-03

A user's jobs and ledger rows are read newest (or oldest) first: `(user_id, id)` indexes replace the plain
`user_id` ones (they serve every lookup by user too), so /history and /ledger walk one index with no sort.
`(user_id, state)` answers how many jobs a user has active or open. `jobs.created_at` serves /stats and the
catalogue's order by recent use. The plain `state` index goes: `ix_jobs_state_next` starts with the state (and
the planner preferred the plain one for the claim, then sorted). The claim of due jobs uses `ix_jobs_state_next` and payments are found by their
unique charge id (both exist already). Each is checked with EXPLAIN in tests/unit/test_indexes.py.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_jobs_user_history", "jobs", ["user_id", "id"], unique=False)
    op.create_index("ix_jobs_user_state", "jobs", ["user_id", "state"], unique=False)
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"], unique=False)
    op.drop_index("ix_jobs_user_id", table_name="jobs")
    op.drop_index("ix_jobs_state", table_name="jobs")  # `ix_jobs_state_next` starts with the state
    op.create_index("ix_ledger_user_history", "ledger", ["user_id", "id"], unique=False)
    op.drop_index("ix_ledger_user_id", table_name="ledger")


def downgrade() -> None:
    op.create_index("ix_ledger_user_id", "ledger", ["user_id"], unique=False)
    op.drop_index("ix_ledger_user_history", table_name="ledger")
    op.create_index("ix_jobs_state", "jobs", ["state"], unique=False)
    op.create_index("ix_jobs_user_id", "jobs", ["user_id"], unique=False)
    op.drop_index("ix_jobs_created_at", table_name="jobs")
    op.drop_index("ix_jobs_user_state", table_name="jobs")
    op.drop_index("ix_jobs_user_history", table_name="jobs")
