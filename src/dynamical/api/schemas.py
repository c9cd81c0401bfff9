"""Request and response bodies of the REST API.

Everything a client sends is checked here, before it reaches the database: identifiers have a
fixed alphabet, free text has no control characters, free-form JSON has finite numbers, bounded
depth and size (PostgreSQL refuses NUL characters and NaN, and a 500 from the database is not a
message a user can act on).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dynamical.names import DisplayName, check_display_name
from dynamical.safety.config import BoxZone, HalfSpaceZone
from dynamical.skills.manifest import SkillManifest

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
# Printable, and nothing that renders as something else (bidi controls, zero-width characters).
Name = DisplayName
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]

MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16
# Keep-out zones are in the world frame, metres; anything beyond 10 km is a typo, not a zone.
MAX_ZONE_COORDINATE_M = 1e4
# A box thinner than a millimetre protects nothing and is almost surely a unit mistake (5e-324 is
# "positive" to the kernel's own model).
MIN_ZONE_HALF_SIZE_M = 1e-3


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"numbers must be finite, got {value}")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("strings must not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, depth + 1)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    _check_json(value)
    if len(json.dumps(value)) > MAX_JSON_BYTES:
        raise ValueError(f"larger than {MAX_JSON_BYTES} bytes as JSON")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- edge devices and peripherals -------------------------------------------------------------


class EdgeDeviceCreate(_Body):
    id: Identifier
    name: Name
    kind: Kind = Field(description="e.g. jetson_agx_orin, industrial_pc")
    robot_id: Identifier | None = Field(None, description="the robot it is mounted on, if any")
    address: Annotated[str, StringConstraints(max_length=255, pattern=r"^[^\s\x00-\x1f\x7f]+$")] | None = Field(
        None, description="host:port where it can be reached"
    )
    capabilities: JsonObject = Field(default_factory=dict, description='e.g. {"gpu": "orin", "tops": 275}')


class EdgeDeviceOut(BaseModel):
    id: str
    name: str
    kind: str
    robot_id: str | None
    address: str | None
    capabilities: dict[str, Any]
    registered_at: datetime


PeripheralKind = Literal[
    "camera",
    "depth_camera",
    "lidar",
    "imu",
    "force_torque",
    "tactile",
    "gripper",
    "hand",
    "glove",
    "microphone",
    "speaker",
    "display",
    "other",
]
Interface = Literal["usb", "ethernet", "can", "ethercat", "serial", "i2c", "spi", "csi", "bluetooth", "wifi", "other"]


class PeripheralCreate(_Body):
    id: Identifier
    name: Name
    kind: PeripheralKind
    robot_id: Identifier | None = None
    edge_device_id: Identifier | None = None
    interface: Interface | None = None
    config: JsonObject = Field(default_factory=dict, description="driver settings, e.g. resolution and rate")


class PeripheralOut(BaseModel):
    id: str
    name: str
    kind: str
    robot_id: str | None
    edge_device_id: str | None
    interface: str | None
    config: dict[str, Any]
    registered_at: datetime


# ---- robots -----------------------------------------------------------------------------------


class RobotOut(BaseModel):
    id: str
    name: str
    profile: str
    kind: str
    embodiment: str | None
    info: dict[str, Any]
    registered_at: datetime
    last_seen_at: datetime | None
    connected: bool
    connected_since: datetime | None = None


# ---- safety -----------------------------------------------------------------------------------


class ZoneCreate(_Body):
    """A keep-out zone, validated by the safety kernel's own models (``safety.config``)."""

    robot_id: Identifier | None = Field(None, description="the robot it applies to; none means every robot")
    zone: Annotated[BoxZone | HalfSpaceZone, Field(discriminator="kind")]

    @model_validator(mode="after")
    def _sane(self) -> ZoneCreate:
        check_display_name(self.zone.name, "zone.name")
        numbers = (
            [*self.zone.center, *self.zone.half_size]
            if isinstance(self.zone, BoxZone)
            else [*self.zone.normal, self.zone.offset]
        )
        for number in numbers:
            if not math.isfinite(number) or abs(number) > MAX_ZONE_COORDINATE_M:
                raise ValueError(f"zone numbers must be finite and within ±{MAX_ZONE_COORDINATE_M:g} m, got {number}")
        if isinstance(self.zone, BoxZone) and min(self.zone.half_size) < MIN_ZONE_HALF_SIZE_M:
            smallest = f"{MIN_ZONE_HALF_SIZE_M * 1000:g} mm"
            raise ValueError(f"every zone half size must be at least {smallest}, got {list(self.zone.half_size)}")
        return self


class ZoneOut(BaseModel):
    id: int
    robot_id: str | None
    zone: Annotated[BoxZone | HalfSpaceZone, Field(discriminator="kind")]
    created_at: datetime


class SafetyEventOut(BaseModel):
    id: int
    robot_id: str
    request_id: str | None
    t: float = Field(description="robot clock, s")
    tick: int
    rule: int = Field(description="safety.rules.Rule code")
    rule_name: str
    joint: int = Field(description="joint index, -1 when none (KEEP_OUT_ZONE events name a zone and a point instead)")
    zone: str | None = Field(None, description="KEEP_OUT_ZONE: the keep-out zone's name")
    point: str | None = Field(None, description="KEEP_OUT_ZONE: the monitored point's name (a safety point)")
    value: float
    limit: float
    cmd_before: list[float | None] | None = Field(description="null where the robot sent NaN or inf")
    cmd_after: list[float | None] | None
    recorded_at: datetime


# ---- skills -----------------------------------------------------------------------------------


class SkillVersionOut(BaseModel):
    version: str
    digest: str = Field(description="sha256 of the plaintext archive")
    size_bytes: int
    signing_key_id: str
    builtin: bool
    registered_at: datetime
    deprecated: bool
    deprecated_reason: str | None
    deprecated_at: datetime | None


class SkillVersionDetail(SkillVersionOut):
    manifest: SkillManifest


class SkillSummary(BaseModel):
    id: str
    name: str
    latest_version: str | None = Field(description="newest version not deprecated; none if all are")
    kind: str
    embodiment: str
    description: str
    tags: list[str]
    versions: list[str]


class SkillDetail(BaseModel):
    id: str
    name: str
    latest_version: str | None
    versions: list[SkillVersionDetail] = Field(description="oldest first, by semantic version")


class SkillRegistered(BaseModel):
    ref: str = Field(description="id@version")
    id: str
    version: str
    digest: str
    created: bool = Field(description="false when this exact artifact was already registered")


class DeprecateRequest(_Body):
    # Printable text (tabs and newlines allowed) with at least one visible character, to the end:
    # an unanchored pattern would let a trailing control character through.
    reason: Annotated[
        str,
        StringConstraints(
            min_length=1,
            max_length=500,
            pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*[^\s\x00-\x08\x0b-\x1f\x7f][^\x00-\x08\x0b-\x1f\x7f]*$",
        ),
    ]


# ---- health -----------------------------------------------------------------------------------


class ComponentHealth(BaseModel):
    """One line of ``/health``."""

    name: str
    ok: bool
    detail: str = ""


class RobotLink(BaseModel):
    """One robot agent's live connection to this server."""

    robot_id: str
    connected_since: datetime
    last_message_at: datetime | None = None
    protocol_version: int | None = None
    peer: str | None = Field(None, description="the agent's address, as the server sees it")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    detailed: bool = Field(
        description="false when asked without an API key: robot ids, peer addresses and details are left out"
    )
    agents_connected: int = Field(description="how many robot agents are connected now")
    database: ComponentHealth
    agents: list[RobotLink] = Field(
        description="connected robot agents (with a key); empty without one or when the server runs no agent link"
    )
    components: list[ComponentHealth]
