"""Orchestration: run notes, cancellation and heartbeats, attempts, drift, deletions,
quarantine status, schedules.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("runs", sa.Column("note", sa.Text))
    op.add_column(
        "runs", sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column("runs", sa.Column("heartbeat_at", TZ))
    op.add_column(
        "stream_runs", sa.Column("deleted", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("stream_runs", sa.Column("drift", sa.Text))
    op.add_column(
        "quarantine", sa.Column("status", sa.String(16), nullable=False, server_default="open")
    )
    op.add_column("quarantine", sa.Column("resolved_run_id", sa.Integer))
    op.create_table(
        "run_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("scope", sa.String(63), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("error_class", sa.String(16)),
        sa.Column("wait_s", sa.Float),
    )
    op.create_index("ix_run_attempts_run", "run_attempts", ["run_id"])
    op.create_table(
        "schedules",
        sa.Column("integration", sa.String(63), primary_key=True),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("paused_reason", sa.Text),
        sa.Column("paused_at", TZ),
        sa.Column("next_run_at", TZ),
        sa.Column("last_run_id", sa.Integer),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_index("ix_run_attempts_run", "run_attempts")
    op.drop_table("run_attempts")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("resolved_run_id")
        batch.drop_column("status")
    with op.batch_alter_table("stream_runs") as batch:
        batch.drop_column("drift")
        batch.drop_column("deleted")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("cancel_requested")
        batch.drop_column("note")
