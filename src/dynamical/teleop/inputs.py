"""What a teleoperator sends, and how a teleop session is configured (the API's and the agent
link's boundary: every number finite, every vector its length)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Side = Literal["left", "right"]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class HandTarget(BaseModel):
    """Where the operator wants one palm: the palm site's pose in the world frame."""

    model_config = ConfigDict(extra="forbid")
    pos: Annotated[list[Finite], Field(min_length=3, max_length=3)] = Field(
        description="palm position, world frame, m"
    )
    quat: Annotated[list[Finite], Field(min_length=4, max_length=4)] | None = Field(
        None, description="palm orientation, world frame, w x y z; none: keep the palm's orientation"
    )

    @field_validator("pos")
    @classmethod
    def _within_reach_of_a_robot(cls, pos: list[float]) -> list[float]:
        # Not the robot's workspace (the IK and the kernel judge that): a bound on nonsense.
        if any(abs(x) > 10.0 for x in pos):
            raise ValueError("a hand target further than 10 m from the world origin is not a target")
        return pos

    @field_validator("quat")
    @classmethod
    def _unit(cls, quat: list[float] | None) -> list[float] | None:
        if quat is None:
            return None
        norm = sum(x * x for x in quat) ** 0.5
        if not 0.5 < norm < 2.0:
            raise ValueError(f"quat must be a rotation quaternion (w, x, y, z) of norm ≈ 1, got norm {norm:.3g}")
        return [x / norm for x in quat]


class TeleopInput(BaseModel):
    """One operator input. Fields left out keep their previous value; the deadman must be held
    (``deadman: true``) in every input for the robot to move."""

    model_config = ConfigDict(extra="forbid")
    seq: int = Field(0, ge=0, lt=2**63, description="the operator's sequence number (older inputs are dropped)")
    sent_at: float | None = Field(
        None, ge=0, le=1e11, allow_inf_nan=False, description="Unix time the operator sent it, s (latency on one host)"
    )
    deadman: bool = Field(description="the operator's enabling switch: false (released) holds the robot")
    hands: dict[Side, HandTarget] = Field(default_factory=dict, description="palm targets per side")
    grip: dict[Side, Unit] = Field(default_factory=dict, description="per side, 0 open … 1 closed")
    head: Annotated[list[Finite], Field(min_length=2, max_length=2)] | None = Field(
        None, description="head pan, tilt, rad"
    )
    waist: Annotated[list[Finite], Field(min_length=2, max_length=2)] | None = Field(
        None, description="waist yaw, pitch, rad"
    )
    fingers: dict[Side, Annotated[list[Finite], Field(min_length=6, max_length=6)]] = Field(
        default_factory=dict,
        description="per side, the hand's six actuated joints, rad (from a glove's retargeting; wins over grip)",
    )


class TeleopConfig(BaseModel):
    """How a session plays inputs."""

    model_config = ConfigDict(extra="forbid")
    deadman_s: float = Field(0.25, gt=0.0, le=5.0, description="no input for this long → hold, s")
    speed_scale: float = Field(0.5, gt=0.0, le=1.0, description="fraction of each joint's speed limit teleop may use")
    accel_scale: float = Field(0.5, gt=0.0, le=1.0, description="fraction of each joint's acceleration limit")
    orientation: bool = Field(True, description="track the hand targets' orientation too")
    max_duration_s: float = Field(3600.0, gt=0.0, le=86400.0, description="the session ends after this long, s")
