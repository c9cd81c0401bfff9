"""Safety configuration: keep-out zones, separation monitoring terms, watchdog and assurance.

Every separation term is ISO/TS 15066's (speed and separation monitoring):

    S_p = v_h·(T_r + T_s) + v_r·T_r + S_s + C + Z_d + Z_r,   with S_s = v_r·T_s / 2

S_s is the robot's stopping distance for a linear deceleration from v_r over T_s.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# NaN compares false with every bound (a NaN half size passed "min(value) <= 0"), and an inf
# coordinate turns the kernel's distances into NaN: zone numbers must be finite.
Finite = Annotated[float, Field(allow_inf_nan=False)]
Vector3 = tuple[Finite, Finite, Finite]


def _printable(name: str) -> str:
    if not name.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ValueError("a zone's name must be printable characters, not blank")
    return name


# A zone is named in the API, in logs and in audits: blank names and control characters are refused.
ZoneName = Annotated[str, AfterValidator(_printable)]

MAX_ZONES_LIMIT = 256
"""Upper bound on ``SafetyConfig.max_zones``: the QP carries max_zones × points rows every tick."""


class BoxZone(BaseModel):
    """An axis-aligned box that monitored points must stay out of (world frame, m)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["box"] = "box"
    name: ZoneName
    center: Vector3
    half_size: Vector3

    @field_validator("half_size")
    @classmethod
    def _positive(cls, value: Vector3) -> Vector3:
        if min(value) <= 0:
            raise ValueError("every half size must be positive")
        return value


class HalfSpaceZone(BaseModel):
    """Points must satisfy normal·p ≥ offset (the normal points to the allowed side)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["halfspace"] = "halfspace"
    name: ZoneName
    normal: Vector3
    offset: Finite

    @field_validator("normal")
    @classmethod
    def _unit(cls, value: Vector3) -> Vector3:
        # Scaled by the largest component first: squaring a huge component (1e308) overflowed to
        # inf and the "unit" normal came out as zero, a zone that constrained nothing.
        scale = max(abs(c) for c in value)
        if scale == 0.0:
            raise ValueError("normal must not be zero")
        unit = [c / scale for c in value]
        length = math.sqrt(sum(c * c for c in unit))  # in [1, sqrt(3)]: no overflow, no underflow
        if scale * length < 1e-9:
            raise ValueError("normal must not be zero (length below 1e-9)")
        return (unit[0] / length, unit[1] / length, unit[2] / length)


Zone = Annotated[BoxZone | HalfSpaceZone, Field(discriminator="kind")]


class SeparationConfig(BaseModel):
    """ISO/TS 15066 speed and separation monitoring; SI units."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    human_speed: float = Field(1.6, ge=0, description="v_h, m/s (ISO 13855 walking speed)")
    reaction_time: float = Field(0.05, ge=0, description="T_r: detection to start of stopping, s")
    stopping_time: float = Field(0.3, gt=0, description="T_s: time the robot takes to stop, s")
    intrusion_distance: float = Field(0.1, ge=0, description="C: reach of a body part past detection, m")
    human_uncertainty: float = Field(0.05, ge=0, description="Z_d: person position uncertainty, m")
    robot_uncertainty: float = Field(0.02, ge=0, description="Z_r: robot position uncertainty, m")
    max_cartesian_speed: float = Field(1.0, gt=0, description="speed of monitored points at scale 1, m/s")
    resume_margin: float = Field(0.15, ge=0, description="extra separation before resuming after a stop, m")

    def static_distance(self) -> float:
        """S_p with the robot at rest: the separation below which the robot must be stopped."""
        return (
            self.human_speed * (self.reaction_time + self.stopping_time)
            + self.intrusion_distance
            + self.human_uncertainty
            + self.robot_uncertainty
        )

    def protective_distance(self, robot_speed: float) -> float:
        """S_p for a robot moving toward the person at ``robot_speed`` m/s."""
        return self.static_distance() + robot_speed * (self.reaction_time + self.stopping_time / 2)

    def allowed_speed(self, separation: float) -> float:
        """Largest robot speed toward the person for which S_p ≤ separation (0 when none)."""
        return max(0.0, (separation - self.static_distance()) / (self.reaction_time + self.stopping_time / 2))


class WatchdogConfig(BaseModel):
    """What happens when commands stop arriving (ticks of the safety loop)."""

    model_config = ConfigDict(extra="forbid")
    hold_after_ticks: int = Field(12, ge=1, description="no new command: keep the last target")
    decelerate_after_ticks: int = Field(40, ge=1, description="then brake to zero velocity")
    protective_stop_after_ticks: int = Field(100, ge=1, description="then a latched protective stop")
    max_command_age: float = Field(0.05, gt=0, description="older commands are stale, s")
    max_clock_skew: float = Field(0.01, ge=0, description="commands stamped further ahead are refused, s")
    max_lookahead: float = Field(
        1.0, gt=0, description="trajectory segments reaching further ahead than this are refused, s"
    )

    @model_validator(mode="after")
    def _ordered(self) -> WatchdogConfig:
        if not self.hold_after_ticks < self.decelerate_after_ticks < self.protective_stop_after_ticks:
            raise ValueError("need hold_after_ticks < decelerate_after_ticks < protective_stop_after_ticks")
        return self


class AssuranceConfig(BaseModel):
    """Runtime assurance (Simplex) and the filter's margins."""

    model_config = ConfigDict(extra="forbid")
    handback_ticks: int = Field(50, ge=1, description="nominal must be safe this long before handing back")
    handback_margin: float = Field(1.5, ge=1, description="braking distances scaled by this for handback")
    cartesian_deceleration: float = Field(3.0, gt=0, description="assumed braking of monitored points, m/s²")
    zone_margin: float = Field(0.01, ge=0, description="extra clearance to keep-out zones, m")
    tracking_time_constant: float = Field(0.02, gt=0, description="how fast the filter closes tracking error, s")
    tolerance: float = Field(1e-6, gt=0, description="numerical slack of the independent check")


def _default_zones() -> list[BoxZone | HalfSpaceZone]:
    # Hands and wrists stay 5 cm above the floor; sites add their own keep-out zones.
    return [HalfSpaceZone(name="floor", normal=(0.0, 0.0, 1.0), offset=0.05)]


class SafetyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zones: list[Zone] = Field(default_factory=_default_zones)
    max_zones: int = Field(
        16,
        ge=1,
        le=MAX_ZONES_LIMIT,
        description="keep-out zones the kernel can hold at once, config and API together (fixes the QP's size)",
    )
    separation: SeparationConfig = SeparationConfig()
    watchdog: WatchdogConfig = WatchdogConfig()
    assurance: AssuranceConfig = AssuranceConfig()

    @model_validator(mode="after")
    def _zones_fit(self) -> SafetyConfig:
        if len(self.zones) > self.max_zones:
            raise ValueError(f"{len(self.zones)} keep-out zones exceed max_zones={self.max_zones}")
        return self
