"""The database schema (SQLAlchemy 2, typed). Migrations in ``migrations/`` create exactly this.

Identifiers a person types (robots, edge devices, peripherals, skills) are strings chosen by their
owner; records the server makes (zones, events, keys, audit entries) get integer ids. Timestamps
are UTC and come back timezone-aware on every backend (SQLite keeps no zone, see ``UTCDateTime``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ID_LENGTH = 64

# Stable constraint names: Alembic needs them to alter constraints later, on SQLite too.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JsonType,
        list[Any]: JsonType,
    }


class Robot(Base):
    """A robot known to the platform; an agent registers it when it first connects."""

    __tablename__ = "robots"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    profile: Mapped[str] = mapped_column(String(128), doc="robot profile name, e.g. humanoid")
    kind: Mapped[str] = mapped_column(String(16), doc="simulated or hardware")
    embodiment: Mapped[str | None] = mapped_column(String(128))
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]


class RobotCredential(Base):
    """The public half of a robot's Ed25519 credential (``agent.credential``): its agent signs each
    link's challenge with the private half, which never leaves the robot. One per robot id; a
    revoked one stays (revoked_at set) until a new one replaces it."""

    __tablename__ = "robot_credentials"

    robot_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64), doc="raw Ed25519 public key, hex")
    fingerprint: Mapped[str] = mapped_column(String(16), doc="sha256 of the public key, 16 hex digits")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class EdgeDevice(Base):
    """A compute module on or near a robot (a Jetson, an industrial PC)."""

    __tablename__ = "edge_devices"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    robot_id: Mapped[str | None] = mapped_column(ForeignKey("robots.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(255))
    capabilities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Peripheral(Base):
    """A sensor or actuator attached to a robot or an edge device (camera, gripper, lidar...)."""

    __tablename__ = "peripherals"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    robot_id: Mapped[str | None] = mapped_column(ForeignKey("robots.id"), index=True)
    edge_device_id: Mapped[str | None] = mapped_column(ForeignKey("edge_devices.id"), index=True)
    interface: Mapped[str | None] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Skill(Base):
    """A skill id; its content lives in its versions."""

    __tablename__ = "skills"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    versions: Mapped[list[SkillVersion]] = relationship(back_populates="skill", cascade="all, delete-orphan")


class SkillVersion(Base):
    """One immutable version of a skill: its manifest in the clear, its artifact in the blob store."""

    __tablename__ = "skill_versions"
    __table_args__ = (UniqueConstraint("skill_id", "version"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    skill_id: Mapped[str] = mapped_column(ForeignKey("skills.id"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(64), doc="sha256 of the plaintext archive")
    blob: Mapped[str] = mapped_column(String(64), doc="address of the encrypted artifact in the blob store")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    signing_key_id: Mapped[str] = mapped_column(String(16))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    deprecated_reason: Mapped[str | None] = mapped_column(Text)
    deprecated_at: Mapped[datetime | None]
    skill: Mapped[Skill] = relationship(back_populates="versions")


class Deployment(Base):
    """A skill version sent to a robot's local cache."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    skill_version_pk: Mapped[int] = mapped_column(ForeignKey("skill_versions.pk"), index=True)
    robot_id: Mapped[str] = mapped_column(ForeignKey("robots.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), doc="pending, delivered, failed")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Execution(Base):
    """One invoke: the request, the plan it became, its result and its timings."""

    __tablename__ = "executions"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    robot_id: Mapped[str | None] = mapped_column(ForeignKey("robots.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    task_description: Mapped[str | None] = mapped_column(Text)
    goal: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), doc="pending, planning, running, succeeded, failed, cancelled")
    request: Mapped[dict[str, Any]]
    plan: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    planning_time_ms: Mapped[float | None] = mapped_column(Float)
    total_time_ms: Mapped[float | None] = mapped_column(Float)


class SafetyZone(Base):
    """A keep-out zone (``safety.config.BoxZone`` or ``HalfSpaceZone``) for one robot or, with no robot, for all."""

    __tablename__ = "safety_zones"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    robot_id: Mapped[str | None] = mapped_column(ForeignKey("robots.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    definition: Mapped[dict[str, Any]] = mapped_column(doc="the zone model, as safety.config validates it")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# A zone name is unique per robot. A NULL robot_id (every robot) would never collide in a plain
# unique constraint, since NULLs are distinct; coalescing it to '*' makes that group unique too.
Index(
    "uq_safety_zones_scope_name",
    func.coalesce(SafetyZone.robot_id, literal_column("'*'")),
    SafetyZone.name,
    unique=True,
)


class SafetyEvent(Base):
    """One intervention of a robot's safety kernel (``safety.rules.Rule``), as the robot reported it."""

    __tablename__ = "safety_events"
    __table_args__ = (Index("ix_safety_events_robot_recorded", "robot_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    robot_id: Mapped[str] = mapped_column(ForeignKey("robots.id"))
    request_id: Mapped[str | None] = mapped_column(ForeignKey("executions.request_id"), index=True)
    t: Mapped[float] = mapped_column(Float, doc="robot clock, s")
    tick: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[int] = mapped_column(Integer)
    rule_name: Mapped[str] = mapped_column(String(32))
    joint: Mapped[int] = mapped_column(Integer, doc="joint index, -1 when none (and for KEEP_OUT_ZONE)")
    zone: Mapped[str | None] = mapped_column(String(128), doc="KEEP_OUT_ZONE: the keep-out zone's name")
    point: Mapped[str | None] = mapped_column(String(128), doc="KEEP_OUT_ZONE: the monitored point's name")
    value: Mapped[float] = mapped_column(Float)
    limit: Mapped[float] = mapped_column(Float)
    cmd_before: Mapped[list[Any] | None] = mapped_column(JsonType)
    cmd_after: Mapped[list[Any] | None] = mapped_column(JsonType)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ApiKey(Base):
    """An API key: only its public prefix and the sha256 of the whole key are stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who changed what, when: one row per mutating request, refused ones included."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64), doc="key prefix, or 'anonymous'")
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(64))


class Trace(Base):
    """An OpenTelemetry trace, usually of one invoke."""

    __tablename__ = "traces"

    trace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("executions.request_id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class Span(Base):
    """One OpenTelemetry span (times in Unix nanoseconds, as OTLP has them)."""

    __tablename__ = "spans"
    __table_args__ = (ForeignKeyConstraint(["trace_id"], ["traces.trace_id"]),)

    trace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    span_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    parent_span_id: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    start_unix_nano: Mapped[int] = mapped_column(BigInteger)
    end_unix_nano: Mapped[int | None] = mapped_column(BigInteger)
    status_code: Mapped[str] = mapped_column(String(8), doc="UNSET, OK or ERROR")
    status_message: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    events: Mapped[list[Any]] = mapped_column(default=list)


class TrainingRun(Base):
    """A policy training run (``learning.runs.RunRecord``, mirrored from its ``run.json`` as it goes)."""

    __tablename__ = "training_runs"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), doc="pending, running, succeeded, failed, interrupted")
    policy: Mapped[str] = mapped_column(String(32), doc="act or diffusion")
    dataset: Mapped[str] = mapped_column(Text, doc="path of the LeRobot dataset on the training machine")
    out_dir: Mapped[str] = mapped_column(Text, doc="path of the run directory on the training machine")
    config: Mapped[dict[str, Any]] = mapped_column(doc="learning.runs.TrainConfig")
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer)
    checkpoint_step: Mapped[int | None] = mapped_column(Integer)
    loss_curve: Mapped[list[Any]] = mapped_column(default=list, doc="[[step, loss], ...]")
    parameters: Mapped[int | None] = mapped_column(BigInteger)
    priority: Mapped[str | None] = mapped_column(String(32), doc="what the OS granted the worker")
    seconds: Mapped[float] = mapped_column(Float, default=0.0, doc="training wall time over every attempt")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer, doc="the process keeping the run (CLI or server)")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
