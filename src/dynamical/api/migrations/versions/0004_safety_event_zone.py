"""Safety events keep the keep-out zone's name and the monitored point a KEEP_OUT_ZONE event
names (the kernel's index is a zone and a point, not a joint: ``joint`` stays -1 for them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 15:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("safety_events") as batch:
        batch.add_column(sa.Column("zone", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("point", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("safety_events") as batch:
        batch.drop_column("point")
        batch.drop_column("zone")
