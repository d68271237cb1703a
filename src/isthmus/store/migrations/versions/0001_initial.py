"""The first schema: runs, stream runs, quarantine, checkpoints and leases.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(63), nullable=False),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("template", sa.String(63), nullable=False),
        sa.Column("template_version", sa.String(40), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("committed", sa.Boolean, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("duration_s", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("error_class", sa.String(16)),
        sa.Column("hint", sa.Text),
    )
    op.create_index("ix_runs_integration_started", "runs", ["integration", "started_at"])
    op.create_table(
        "stream_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("mapping", sa.String(63), nullable=False),
        sa.Column("stream", sa.String(63), nullable=False),
        sa.Column("entity", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("records_read", sa.Integer, nullable=False),
        sa.Column("loaded", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Float),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_stream_runs_run", "stream_runs", ["run_id"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("integration", sa.String(63), nullable=False),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("mapping", sa.String(63), nullable=False),
        sa.Column("stream", sa.String(63), nullable=False),
        sa.Column("entity", sa.String(63), nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("record_id", sa.Text),
        sa.Column("rule", sa.String(63), nullable=False),
        sa.Column("field", sa.String(255)),
        sa.Column("value", sa.Text),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_quarantine_run_rule", "quarantine", ["run_id", "rule", "field"])
    op.create_index("ix_quarantine_integration", "quarantine", ["integration", "created_at"])
    op.create_table(
        "checkpoints",
        sa.Column("integration", sa.String(63), primary_key=True),
        sa.Column("mapping", sa.String(63), primary_key=True),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("integration", sa.String(63), primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("acquired_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for table in ("leases", "checkpoints", "quarantine", "stream_runs", "runs"):
        op.drop_table(table)
