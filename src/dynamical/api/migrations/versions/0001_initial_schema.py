"""Initial schema: robots, edge devices, peripherals, skills and their versions, deployments,
executions, safety zones and events, API keys, the audit log, traces and spans.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:30:25.569079
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "robots",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("profile", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("embodiment", sa.String(length=128), nullable=True),
        sa.Column(
            "info", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_robots")),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], name=op.f("fk_audit_log_api_key_id_api_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_api_key_id"), "audit_log", ["api_key_id"], unique=False)
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)

    op.create_table(
        "edge_devices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("robot_id", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column(
            "capabilities",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["robot_id"], ["robots.id"], name=op.f("fk_edge_devices_robot_id_robots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edge_devices")),
    )
    op.create_index(op.f("ix_edge_devices_robot_id"), "edge_devices", ["robot_id"], unique=False)

    op.create_table(
        "executions",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("robot_id", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("task_description", sa.Text(), nullable=True),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "request", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("plan", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True),
        sa.Column(
            "result", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planning_time_ms", sa.Float(), nullable=True),
        sa.Column("total_time_ms", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["robot_id"], ["robots.id"], name=op.f("fk_executions_robot_id_robots")),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_executions")),
    )
    op.create_index(op.f("ix_executions_created_at"), "executions", ["created_at"], unique=False)
    op.create_index(op.f("ix_executions_robot_id"), "executions", ["robot_id"], unique=False)

    op.create_table(
        "safety_zones",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("robot_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "definition", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["robot_id"], ["robots.id"], name=op.f("fk_safety_zones_robot_id_robots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_zones")),
    )
    op.create_index(op.f("ix_safety_zones_robot_id"), "safety_zones", ["robot_id"], unique=False)
    # A zone name is unique per robot; NULL (every robot) counts as the group '*'.
    op.create_index(
        "uq_safety_zones_scope_name",
        "safety_zones",
        [sa.text("coalesce(robot_id, '*')"), "name"],
        unique=True,
    )

    op.create_table(
        "skill_versions",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("skill_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column(
            "manifest", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("blob", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("signing_key_id", sa.String(length=16), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deprecated_reason", sa.Text(), nullable=True),
        sa.Column("deprecated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["skill_id"], ["skills.id"], name=op.f("fk_skill_versions_skill_id_skills")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_skill_versions")),
        sa.UniqueConstraint("skill_id", "version", name=op.f("uq_skill_versions_skill_id_version")),
    )
    op.create_index(op.f("ix_skill_versions_skill_id"), "skill_versions", ["skill_id"], unique=False)

    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("skill_version_pk", sa.Integer(), nullable=False),
        sa.Column("robot_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["robot_id"], ["robots.id"], name=op.f("fk_deployments_robot_id_robots")),
        sa.ForeignKeyConstraint(
            ["skill_version_pk"], ["skill_versions.pk"], name=op.f("fk_deployments_skill_version_pk_skill_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    op.create_index(op.f("ix_deployments_robot_id"), "deployments", ["robot_id"], unique=False)
    op.create_index(op.f("ix_deployments_skill_version_pk"), "deployments", ["skill_version_pk"], unique=False)

    op.create_table(
        "peripherals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("robot_id", sa.String(length=64), nullable=True),
        sa.Column("edge_device_id", sa.String(length=64), nullable=True),
        sa.Column("interface", sa.String(length=32), nullable=True),
        sa.Column(
            "config", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["edge_device_id"], ["edge_devices.id"], name=op.f("fk_peripherals_edge_device_id_edge_devices")
        ),
        sa.ForeignKeyConstraint(["robot_id"], ["robots.id"], name=op.f("fk_peripherals_robot_id_robots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peripherals")),
    )
    op.create_index(op.f("ix_peripherals_edge_device_id"), "peripherals", ["edge_device_id"], unique=False)
    op.create_index(op.f("ix_peripherals_robot_id"), "peripherals", ["robot_id"], unique=False)

    op.create_table(
        "safety_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("robot_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("tick", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.Integer(), nullable=False),
        sa.Column("rule_name", sa.String(length=32), nullable=False),
        sa.Column("joint", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("limit", sa.Float(), nullable=False),
        sa.Column(
            "cmd_before", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column(
            "cmd_after", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["executions.request_id"], name=op.f("fk_safety_events_request_id_executions")
        ),
        sa.ForeignKeyConstraint(["robot_id"], ["robots.id"], name=op.f("fk_safety_events_robot_id_robots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_events")),
    )
    op.create_index(op.f("ix_safety_events_recorded_at"), "safety_events", ["recorded_at"], unique=False)
    op.create_index(op.f("ix_safety_events_request_id"), "safety_events", ["request_id"], unique=False)
    op.create_index("ix_safety_events_robot_recorded", "safety_events", ["robot_id", "recorded_at"], unique=False)

    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["executions.request_id"], name=op.f("fk_traces_request_id_executions")
        ),
        sa.PrimaryKeyConstraint("trace_id", name=op.f("pk_traces")),
    )
    op.create_index(op.f("ix_traces_request_id"), "traces", ["request_id"], unique=False)

    op.create_table(
        "spans",
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("span_id", sa.String(length=16), nullable=False),
        sa.Column("parent_span_id", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start_unix_nano", sa.BigInteger(), nullable=False),
        sa.Column("end_unix_nano", sa.BigInteger(), nullable=True),
        sa.Column("status_code", sa.String(length=8), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column(
            "attributes", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "events", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(["trace_id"], ["traces.trace_id"], name=op.f("fk_spans_trace_id_traces")),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name=op.f("pk_spans")),
    )


def downgrade() -> None:
    op.drop_table("spans")
    op.drop_table("traces")
    op.drop_table("safety_events")
    op.drop_table("peripherals")
    op.drop_table("deployments")
    op.drop_table("skill_versions")
    op.drop_table("safety_zones")
    op.drop_table("executions")
    op.drop_table("edge_devices")
    op.drop_table("audit_log")
    op.drop_table("skills")
    op.drop_table("robots")
    op.drop_table("api_keys")
