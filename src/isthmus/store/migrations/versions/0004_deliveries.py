"""Write-back deliveries: what each record sent to an external system became.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("integration", sa.String(63), nullable=False),
        sa.Column("target", sa.String(63), nullable=False),
        sa.Column("record_key", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("delivered", sa.Boolean, nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("remote_id", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_deliveries_run", "deliveries", ["run_id", "target"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_run", "deliveries")
    op.drop_table("deliveries")
