"""Inbound webhook events: one row per delivery, ordered by a sequence id, a sender's event
id stored once per stream.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("integration", sa.String(63), nullable=False),
        sa.Column("stream", sa.String(63), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("body_bytes", sa.Integer, nullable=False),
        # SQLite would otherwise reuse the ids of purged newest events; a run's checkpoint is
        # a sequence id, so ids must only grow.
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ux_webhook_events_event",
        "webhook_events",
        ["integration", "stream", "event_id"],
        unique=True,
    )
    op.create_index("ix_webhook_events_stream", "webhook_events", ["integration", "stream", "id"])
    op.create_index("ix_webhook_events_received", "webhook_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_received", "webhook_events")
    op.drop_index("ix_webhook_events_stream", "webhook_events")
    op.drop_index("ux_webhook_events_event", "webhook_events")
    op.drop_table("webhook_events")
