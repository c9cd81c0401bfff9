"""What the server keeps of an execution's motion, for export and analysis: the robot's state
reports (30 Hz: joints, objects, safety mode), its safety events and its step progress, on the
robot's clock. One gzip'd JSON file per execution, ``<data_dir>/recordings/<request_id>.json.gz``
(0600), written when the execution ends.

Camera frames do not travel over the agent link, so no recording holds them; an exporter says so.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

RECORDINGS_DIR = "recordings"
REQUEST_ID = re.compile(r"^[0-9a-fA-F-]{1,64}$")
MAX_SAMPLES = 108_000
"""An hour at 30 Hz: a longer execution keeps its first hour (a memory bound)."""


class StateSample(BaseModel):
    model_config = ConfigDict(frozen=True)

    t: float
    """s, robot clock."""
    q: list[float]
    """(n,) rad, in ``joint_names`` order."""
    dq: list[float]
    objects: dict[str, list[float]] = {}
    """Name → [x, y, z, qw, qx, qy, qz] (m; world frame; MuJoCo's w-first quaternion)."""
    safety_mode: str | None = None


class EventSample(BaseModel):
    """One safety kernel event."""

    model_config = ConfigDict(frozen=True)

    t: float
    """s, robot clock."""
    rule: str
    """``safety.rules.Rule`` name."""
    joint: str | None = None
    """The joint it acted on (None for zone and stop events)."""
    zone: str | None = None
    """The keep-out zone's name (KEEP_OUT_ZONE events)."""
    point: str | None = None
    """The monitored point's name (KEEP_OUT_ZONE events)."""
    value: float | None = None
    limit: float | None = None


class StepSample(BaseModel):
    """A step's progress message: running (twice: once planned), then succeeded or failed."""

    model_config = ConfigDict(frozen=True)

    t: float
    """s, robot clock (the robot's latest state time when the message came)."""
    step_id: str
    skill_id: str
    status: str
    failure: str | None = None
    phases: list[dict[str, Any]] = []
    """The planned phases (name, duration_s, hands) when the message carried them."""


class ExecutionRecording(BaseModel):
    request_id: str
    robot_id: str
    joint_names: list[str] = []
    samples: list[StateSample] = Field(default_factory=list)
    events: list[EventSample] = Field(default_factory=list)
    steps: list[StepSample] = Field(default_factory=list)
    truncated: bool = False

    def add(self, sample: StateSample) -> None:
        if len(self.samples) >= MAX_SAMPLES:
            self.truncated = True
            return
        self.samples.append(sample)

    def object_at(self, name: str, t: float) -> list[float] | None:
        """The object's position (m) in the last sample at or before ``t`` (the first after, if none)."""
        best: list[float] | None = None
        for sample in self.samples:
            pose = sample.objects.get(name)
            if pose is None:
                continue
            if sample.t > t and best is not None:
                break
            best = pose[:3]
            if sample.t > t:
                break
        return best


def recording_path(data_dir: Path, request_id: str) -> Path:
    if not REQUEST_ID.match(request_id):
        raise ValueError(f"not an execution id: {request_id!r}")
    return data_dir / RECORDINGS_DIR / f"{request_id}.json.gz"


def save_recording(data_dir: Path, recording: ExecutionRecording) -> Path:
    path = recording_path(data_dir, recording.request_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=5) as handle:
        handle.write(recording.model_dump_json().encode())
    os.replace(temporary, path)
    return path


def load_recording(data_dir: Path, request_id: str) -> ExecutionRecording | None:
    """The recording of ``request_id``, or None when the server kept none."""
    path = recording_path(data_dir, request_id)
    if not path.exists():
        return None
    with gzip.open(path, "rb") as handle:
        return ExecutionRecording.model_validate_json(handle.read())
