"""Recording what a robot does while it works: an invoke with ``"record": true``, or the dashboard's
Ctrl+R (``POST /api/v1/robots/{id}/recording/start|stop``).

A ``RobotRecorder`` watches the robot's control loop (``SkillRunner.watchers``) and, between a
start and a stop, keeps frames exactly as ``dynamical record`` does (``EpisodeBuffer``: state,
environment state, the executive's targets, and camera images where the robot's simulator is in
this process). A stop hands the episode to a writer in the learning environment at low priority
(nice 10: it yields to the robot, yet finishes on a busy machine, where SCHED_IDLE would starve
it), in the background: the robot never waits for the encoding. Each recording is one dataset of one
episode, ``<datasets_dir>/<robot>-<UTC time>``, listed by ``dynamical datasets`` and the API.

Runtime side only; the robot agent sees it through the ``agent.link_client.Recorder`` protocol.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dynamical.learning import protocol
from dynamical.learning.env import Worker
from dynamical.learning.episode import EpisodeBuffer
from dynamical.learning.features import FeatureLayout
from dynamical.learning.recorder import dataset_spec
from dynamical.robot.camera_rig import CameraRig
from dynamical.skills.runner import SkillRunner

log = logging.getLogger(__name__)
MAX_RECORDING_S = 600.0
"""s: a recording left on keeps at most this much (then it is marked truncated): bounded memory."""
WRITE_TIMEOUT_S = 900.0

CameraFactory = Callable[[tuple[str, ...], int, int], CameraRig]


class RecordingBusyError(RuntimeError):
    """A recording is already running on this robot."""


class NotRecordingError(RuntimeError):
    """Stop without a recording running."""


@dataclass(frozen=True)
class RecordingSource:
    """What the recorder reads: the robot's skill runner now (it changes when a simulated world is
    reset) and, when the simulator is in this process, a way to render its cameras."""

    runner: SkillRunner
    cameras: CameraFactory | None = None


class RobotRecorder:
    def __init__(
        self,
        robot_id: str,
        layout: FeatureLayout,
        source: Callable[[], RecordingSource | None],
        datasets_dir: Path,
        fps: int = protocol.DEFAULT_FPS,
    ) -> None:
        self.robot_id = robot_id
        self.layout = layout
        self.fps = fps
        self.datasets_dir = datasets_dir
        self._source = source
        self._lock = threading.Lock()
        self._buffer: EpisodeBuffer | None = None
        self._pending_cameras: CameraFactory | None = None
        self._rig: CameraRig | None = None
        self._frame_lock = threading.Lock()
        self._task: str | None = None
        self._started_at: datetime | None = None
        self._name: str | None = None
        self._watched: set[int] = set()
        self._writing: dict[str, threading.Thread] = {}
        self.written: list[str] = []
        """Datasets written, in the order their writes finished (recordings write concurrently)."""
        self.last_error: str | None = None
        self._names = itertools.count()

    # ---- control ----

    def start(self, task: str) -> str:
        """Start keeping frames; the dataset's name. Raises RecordingBusyError if one runs."""
        source = self._source()
        if source is None:
            raise RuntimeError(f"robot {self.robot_id} is not running: nothing to record")
        with self._frame_lock, self._lock:
            if self._buffer is not None:
                raise RecordingBusyError(f"robot {self.robot_id} is already recording {self._name}")
            now = datetime.now(UTC)
            name = f"{self.robot_id}-{now:%Y%m%d-%H%M%S}-{next(self._names)}"
            runner = source.runner
            self._buffer = EpisodeBuffer(
                self.layout,
                self.fps,
                runner.world,
                state=runner.host.link.state,
                target=lambda: runner.executor.last_command,
                max_frames=int(MAX_RECORDING_S * self.fps),
            )
            # Cameras render in the control thread (the GL context lives in the thread that made it).
            self._pending_cameras = source.cameras
            self._task, self._started_at, self._name = task, now, name
            if id(runner) not in self._watched:
                self._watched.add(id(runner))
                runner.watchers.append(self._on_tick)
        log.info("robot %s: recording %s (%s)", self.robot_id, name, task)
        return name

    def stop(self, success: bool | None = None, meta: dict[str, Any] | None = None) -> str | None:
        """Stop; the episode goes to the writer in the background. The dataset's name, or None
        when nothing was recorded (no control tick came). Raises NotRecordingError."""
        with self._frame_lock, self._lock:
            buffer, name, task = self._buffer, self._name, self._task
            if buffer is None or name is None:
                raise NotRecordingError(f"robot {self.robot_id} is not recording")
            self._buffer = None
            started = self._started_at
        if len(buffer) == 0:
            log.warning("robot %s: recording %s has no frames; nothing written", self.robot_id, name)
            return None
        extra = {"success": success, "started_at": started.isoformat() if started else None, **(meta or {})}
        thread = threading.Thread(
            target=self._write, args=(name, buffer, task or "", success, extra), name=f"write-{name}", daemon=True
        )
        self._writing[name] = thread
        thread.start()
        return name

    def status(self) -> dict[str, Any]:
        """What the dashboard's REC badge shows: JSON-able."""
        with self._lock:
            buffer = self._buffer
            return {
                "active": buffer is not None,
                "dataset": self._name if buffer is not None else (self.written[-1] if self.written else None),
                "task": self._task if buffer is not None else None,
                "frames": len(buffer) if buffer is not None else 0,
                "started_at": self._started_at.isoformat() if buffer is not None and self._started_at else None,
                "writing": sorted(n for n, t in self._writing.items() if t.is_alive()),
                "error": self.last_error,
            }

    def wait_written(self, timeout: float = WRITE_TIMEOUT_S) -> None:
        """Wait for every stopped recording to be written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._writing.values()):
            thread.join(max(0.0, deadline - time.monotonic()))

    # ---- the control thread ----

    def _on_tick(self, t: float) -> None:
        # The frame lock keeps a stop from taking the buffer while a frame is half added.
        with self._frame_lock:
            buffer = self._buffer
            if self._rig is not None and (buffer is None or self._pending_cameras is not None):
                self._rig.close()  # in this thread, which made its GL context
                self._rig = None
            if buffer is None:
                return
            if self._pending_cameras is not None:
                # A new rig for each recording: a simulated world reset since the last one is a new model.
                factory, self._pending_cameras = self._pending_cameras, None
                try:
                    self._rig = factory(self.layout.cameras, self.layout.image_width, self.layout.image_height)
                    buffer.cameras = self._rig
                    buffer.images = {name: [] for name in self._rig.names}
                except Exception as exc:  # no GL here: record state without images rather than nothing
                    log.warning("robot %s: cameras unavailable, recording without images: %s", self.robot_id, exc)
            buffer(t)

    # ---- the writer ----

    def _write(self, name: str, buffer: EpisodeBuffer, task: str, success: bool | None, meta: dict[str, Any]) -> None:
        out = self.datasets_dir / name
        images = bool(buffer.images) and all(len(v) == len(buffer) for v in buffer.images.values())
        if not images:
            buffer.images = {}
        try:
            self.datasets_dir.mkdir(parents=True, exist_ok=True)
            spec = dataset_spec(
                out.name,
                self.layout,
                self.fps,
                images,
                {"source": "robot", "robot_id": self.robot_id, "task": task, "skill": None, "params": {}},
            )
            spool = Path(tempfile.mkdtemp(prefix=f".{name}-spool-", dir=self.datasets_dir))
            try:
                spec_path = spool / "spec.json"
                spec_path.write_text(_json(spec))
                command = buffer.write_spool(
                    spool / "episode", task, bool(success), {**meta, "truncated": buffer.truncated}
                )
                with Worker(
                    "record_writer", ["--root", str(out), "--spec", str(spec_path)], stdin=True, priority="low"
                ) as worker:
                    worker.send(dict(command))
                    worker.send({"command": "finish"})
                    worker.next_message("done")
                    worker.wait(timeout=WRITE_TIMEOUT_S)
            finally:
                shutil.rmtree(spool, ignore_errors=True)
        except Exception as exc:  # the robot goes on; the status says what was lost and why
            log.exception("robot %s: recording %s could not be written", self.robot_id, name)
            with self._lock:
                self.last_error = f"{name}: {type(exc).__name__}: {exc}"
            return
        with self._lock:
            self.written.append(name)
        log.info("robot %s: recording %s written (%d frames)", self.robot_id, name, len(buffer))


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value)


def recorder_for(agent: Any, datasets_dir: Path, fps: int = protocol.DEFAULT_FPS) -> RobotRecorder:
    """The recorder of a robot agent (lock-step or realtime: anything with ``robot_id``,
    ``description``, ``world_spec`` and ``runner``). Where the simulator runs in this process (the
    lock-step agent's ``runtime``), the head and front cameras are recorded too; on the realtime
    agent the simulator is in the realtime process, so recordings hold state and actions only."""
    from dynamical.learning.features import layout_for

    layout = layout_for(agent.description, list(agent.world_spec.objects))

    def source() -> RecordingSource | None:
        runner = agent.runner
        if runner is None:
            return None
        runtime = getattr(agent, "runtime", None)
        cameras = getattr(runtime, "camera_rig", None)
        available = set(agent.description.cameras) | set(agent.world_spec.cameras)
        if cameras is None or not set(layout.cameras) <= available:
            return RecordingSource(runner)
        return RecordingSource(runner, lambda names, w, h: cameras(names, w, h))

    return RobotRecorder(agent.robot_id, layout, source, datasets_dir, fps)
