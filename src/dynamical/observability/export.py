"""An execution on one timeline, for the viewers robotics people use: Rerun (``.rrd``, rerun-sdk)
and Foxglove (``.mcap``, JSON-encoded messages with Foxglove's and ROS's standard schemas).

What goes in (all on the robot's clock, ``robot_time``, in s from the recording's first sample):

| what | Rerun entity | MCAP topic (schema) |
|---|---|---|
| joint positions, rad | ``robot/joints/<name>`` (Scalars) | ``/joint_states`` (sensor_msgs/msg/JointState) |
| object poses, m | ``world/objects/<name>`` (Transform3D + Points3D) | ``/tf`` (foxglove.FrameTransforms) |
| safety events | ``safety/events`` (TextLog) | ``/safety_events`` (foxglove.Log) |
| plan steps and skill phases | ``plan/steps`` (TextLog), ``plan/hands/<side>`` (Points3D) | ``/plan`` (foxglove.Log) |

Commands are not streamed to the server (only the planned phase targets are): the planned hand
positions stand for them. Camera frames do not cross the agent link, so none are exported.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from dynamical.observability.recording import EventSample, ExecutionRecording, StepSample

Format = Literal["rrd", "mcap"]
FORMATS: tuple[str, ...] = ("rrd", "mcap")
TIMELINE = "robot_time"


class ExecutionExport(BaseModel):
    """Everything an export holds, gathered by the caller (server or CLI)."""

    request_id: str
    robot_id: str | None
    task: str | None
    status: str
    error: str | None
    plan_steps: list[dict[str, Any]] = []
    """The plan's steps as stored (step_id, skill_ids, parameters …)."""
    events: list[EventSample] = []
    recording: ExecutionRecording | None = None


class ExportReport(BaseModel):
    path: str
    format: str
    bytes: int
    seconds: float
    duration_s: float
    """Robot time the export spans."""
    joint_samples: int
    joints: int
    object_samples: int
    events: int
    steps: int
    camera_frames: int = 0


def export_execution(data: ExecutionExport, fmt: Format, out: Path) -> ExportReport:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    t0 = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    timeline = _Timeline.of(data)
    if fmt == "rrd":
        _write_rrd(data, timeline, out)
    else:
        _write_mcap(data, timeline, out)
    recording = data.recording
    samples = recording.samples if recording is not None else []
    return ExportReport(
        path=str(out),
        format=fmt,
        bytes=out.stat().st_size,
        seconds=round(time.perf_counter() - t0, 4),
        duration_s=round(timeline.span, 3),
        joint_samples=len(samples),
        joints=len(recording.joint_names) if recording is not None else 0,
        object_samples=sum(len(s.objects) for s in samples),
        events=len(data.events),
        steps=len(timeline.steps),
    )


class _Timeline:
    """The export's arrays: t (k,) s from the origin, q (k, n) rad, objects name → (k_o, 7)."""

    def __init__(self, data: ExecutionExport) -> None:
        recording = data.recording
        samples = recording.samples if recording is not None else []
        times = [s.t for s in samples] + [e.t for e in data.events]
        self.origin = min(times) if times else 0.0
        self.t = np.array([s.t - self.origin for s in samples], dtype=float)
        self.joint_names = list(recording.joint_names) if recording is not None else []
        n = len(self.joint_names)
        self.q = np.array([s.q[:n] for s in samples], dtype=float).reshape(len(samples), n)
        self.objects: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        names = sorted({name for s in samples for name in s.objects})
        for name in names:
            rows = [(s.t - self.origin, s.objects[name]) for s in samples if name in s.objects]
            self.objects[name] = (np.array([r[0] for r in rows]), np.array([r[1] for r in rows], dtype=float))
        self.steps: list[StepSample] = list(recording.steps) if recording is not None else []
        self.span = float(max(times) - self.origin) if times else 0.0

    @classmethod
    def of(cls, data: ExecutionExport) -> _Timeline:
        return cls(data)

    def rel(self, t: float) -> float:
        return t - self.origin if np.isfinite(t) else 0.0


def _event_text(event: EventSample) -> str:
    where = ""
    if event.zone is not None:
        where = f" zone {event.zone!r} at {event.point or '?'}"
    elif event.joint is not None:
        where = f" joint {event.joint}"
    values = (
        ""
        if event.value is None
        else f" value {event.value:.4g} limit {event.limit if event.limit is not None else '—'}"
    )
    return f"{event.rule}{where}{values}"


def _step_text(step: StepSample) -> str:
    text = f"step {step.step_id} {step.skill_id}: {step.status}"
    if step.failure:
        text += f" — {step.failure}"
    if step.phases:
        text += " (phases: " + ", ".join(f"{p['name']} {p['duration_s']:.2f} s" for p in step.phases) + ")"
    return text


# ---- Rerun ----------------------------------------------------------------------------------


def _write_rrd(data: ExecutionExport, timeline: _Timeline, out: Path) -> None:
    import rerun as rr

    rec = rr.RecordingStream("dynamical-execution", recording_id=data.request_id)
    rec.save(out)
    try:
        rec.log(
            "execution",
            rr.TextDocument(
                json.dumps(
                    {
                        "request_id": data.request_id,
                        "robot_id": data.robot_id,
                        "task": data.task,
                        "status": data.status,
                        "error": data.error,
                        "plan": data.plan_steps,
                    },
                    indent=2,
                ),
                media_type="text/plain",
            ),
            static=True,
        )
        if len(timeline.t):
            index = [rr.TimeColumn(TIMELINE, duration=timeline.t)]
            for j, name in enumerate(timeline.joint_names):
                rec.send_columns(
                    f"robot/joints/{name}", indexes=index, columns=rr.Scalars.columns(scalars=timeline.q[:, j])
                )
        for name, (t, poses) in timeline.objects.items():
            index = [rr.TimeColumn(TIMELINE, duration=t)]
            # MuJoCo quaternions are w-first; Rerun's are x, y, z, w.
            xyzw = poses[:, [4, 5, 6, 3]]
            rec.send_columns(
                f"world/objects/{name}",
                indexes=index,
                columns=rr.Transform3D.columns(translation=poses[:, :3], quaternion=xyzw),
            )
        for event in data.events:
            rec.set_time(TIMELINE, duration=timeline.rel(event.t))
            rec.log("safety/events", rr.TextLog(_event_text(event), level=rr.TextLogLevel.WARN))
        for step in timeline.steps:
            rec.set_time(TIMELINE, duration=timeline.rel(step.t))
            level = rr.TextLogLevel.ERROR if step.status == "failed" else rr.TextLogLevel.INFO
            rec.log("plan/steps", rr.TextLog(_step_text(step), level=level))
            for phase in step.phases:
                for side, pos in (phase.get("hands") or {}).items():
                    rec.log(f"plan/hands/{side}", rr.Points3D([pos], labels=[phase["name"]]))
    finally:
        rec.flush()
        rec.disconnect()


# ---- MCAP (Foxglove) ------------------------------------------------------------------------

JOINT_STATE_SCHEMA = {
    "title": "sensor_msgs/msg/JointState",
    "type": "object",
    "properties": {
        "header": {
            "type": "object",
            "properties": {
                "stamp": {"type": "object", "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}}},
                "frame_id": {"type": "string"},
            },
        },
        "name": {"type": "array", "items": {"type": "string"}},
        "position": {"type": "array", "items": {"type": "number"}},
        "velocity": {"type": "array", "items": {"type": "number"}},
        "effort": {"type": "array", "items": {"type": "number"}},
    },
}
_TIME = {"type": "object", "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}}}
_VEC = {"type": "object", "properties": {k: {"type": "number"} for k in ("x", "y", "z")}}
_QUAT = {"type": "object", "properties": {k: {"type": "number"} for k in ("x", "y", "z", "w")}}
FRAME_TRANSFORMS_SCHEMA = {
    "title": "foxglove.FrameTransforms",
    "type": "object",
    "properties": {
        "transforms": {
            "type": "array",
            "items": {
                "title": "foxglove.FrameTransform",
                "type": "object",
                "properties": {
                    "timestamp": _TIME,
                    "parent_frame_id": {"type": "string"},
                    "child_frame_id": {"type": "string"},
                    "translation": _VEC,
                    "rotation": _QUAT,
                },
            },
        }
    },
}
LOG_SCHEMA = {
    "title": "foxglove.Log",
    "type": "object",
    "properties": {
        "timestamp": _TIME,
        "level": {"type": "integer", "description": "1 debug, 2 info, 3 warning, 4 error, 5 fatal"},
        "message": {"type": "string"},
        "name": {"type": "string"},
        "file": {"type": "string"},
        "line": {"type": "integer"},
    },
}


def _stamp(t: float) -> dict[str, int]:
    ns = max(0, round(t * 1e9))
    return {"sec": ns // 1_000_000_000, "nsec": ns % 1_000_000_000}


def _write_mcap(data: ExecutionExport, timeline: _Timeline, out: Path) -> None:
    from mcap.writer import Writer

    with open(out, "wb") as stream:
        writer = Writer(stream)
        writer.start(profile="", library="dynamical")
        channels = {}
        for topic, schema in (
            ("/joint_states", JOINT_STATE_SCHEMA),
            ("/tf", FRAME_TRANSFORMS_SCHEMA),
            ("/safety_events", LOG_SCHEMA),
            ("/plan", LOG_SCHEMA),
        ):
            schema_id = writer.register_schema(
                name=schema["title"], encoding="jsonschema", data=json.dumps(schema).encode()
            )
            channels[topic] = writer.register_channel(topic=topic, message_encoding="json", schema_id=schema_id)
        writer.add_metadata(
            "execution",
            {
                "request_id": data.request_id,
                "robot_id": data.robot_id or "",
                "task": data.task or "",
                "status": data.status,
                "error": data.error or "",
                "plan": json.dumps(data.plan_steps),
            },
        )
        messages: list[tuple[float, str, dict[str, Any]]] = []
        recording = data.recording
        for k, sample in enumerate(recording.samples if recording is not None else []):
            t = float(timeline.t[k])
            messages.append(
                (
                    t,
                    "/joint_states",
                    {
                        "header": {"stamp": _stamp(t), "frame_id": "robot"},
                        "name": timeline.joint_names,
                        "position": sample.q,
                        "velocity": sample.dq,
                        "effort": [],
                    },
                )
            )
            if sample.objects:
                messages.append(
                    (
                        t,
                        "/tf",
                        {
                            "transforms": [
                                {
                                    "timestamp": _stamp(t),
                                    "parent_frame_id": "world",
                                    "child_frame_id": name,
                                    "translation": dict(zip("xyz", pose[:3], strict=True)),
                                    "rotation": {"w": pose[3], "x": pose[4], "y": pose[5], "z": pose[6]},
                                }
                                for name, pose in sorted(sample.objects.items())
                            ]
                        },
                    )
                )
        for event in data.events:
            t = timeline.rel(event.t)
            messages.append(
                (
                    t,
                    "/safety_events",
                    {
                        "timestamp": _stamp(t),
                        "level": 3,
                        "message": _event_text(event),
                        "name": "safety_kernel",
                        "file": "",
                        "line": 0,
                    },
                )
            )
        for step in timeline.steps:
            t = timeline.rel(step.t)
            level = 4 if step.status == "failed" else 2
            messages.append(
                (
                    t,
                    "/plan",
                    {
                        "timestamp": _stamp(t),
                        "level": level,
                        "message": _step_text(step),
                        "name": "plan_runner",
                        "file": "",
                        "line": 0,
                    },
                )
            )
        messages.sort(key=lambda m: m[0])
        for sequence, (t, topic, message) in enumerate(messages):
            ns = max(0, round(t * 1e9))
            writer.add_message(
                channel_id=channels[topic],
                log_time=ns,
                publish_time=ns,
                data=json.dumps(message).encode(),
                sequence=sequence,
            )
        writer.finish()
