"""Record demonstrations of a built-in expert as a LeRobotDataset v3 (``dynamical record``).

Each episode is a fresh lock-step world drawn from its seed (a new object layout; optionally
randomized physics and looks, ``robot.randomization``), in which the skills that establish the
skill's preconditions run first and then the skill itself (``skills.evaluation.EPISODES``): a
``lift`` episode is the grasp and the lift, the whole learned pick. Frames are sampled from the
control loop (``episode.EpisodeBuffer``), spooled to disk and streamed to one learn-side writer
process (``lerobot_side.record_writer``, LeRobot's own writer) that encodes while the next
episode is simulated. Episodes whose skills failed are dropped unless ``keep_failures``; seeds run
``seed``, ``seed + 1``, … until ``episodes`` were kept or ``max_attempts`` ran.
"""

from __future__ import annotations

import json
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dynamical.learning import protocol
from dynamical.learning.env import LearnWorkerError, Worker
from dynamical.learning.episode import EpisodeBuffer
from dynamical.learning.features import FeatureLayout, layout_for
from dynamical.learning.tasks import task_text
from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.randomization import DomainRandomization
from dynamical.robot.scene import build_model
from dynamical.robot.world import WorldSpec
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.errors import UnknownSkillError
from dynamical.skills.evaluation import EPISODES, MANNEQUIN_AWAY, EpisodeSetup
from dynamical.skills.runner import SkillRunner, builtin_catalog

MAX_PENDING = 2
"""Episodes spooled but not yet saved by the writer before the simulation waits for it (disk use)."""
WRITER_FINISH_TIMEOUT_S = 600.0


class RecordError(RuntimeError):
    """Recording cannot start or cannot go on; the message says why."""


class RecordConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    skill: str
    params: dict[str, Any] = {}
    """Overrides of the skill's default episode parameters."""
    episodes: int = Field(gt=0, le=100_000)
    seed: int = Field(0, ge=0)
    out: Path
    fps: int = Field(protocol.DEFAULT_FPS, gt=0, le=200)
    images: bool = True
    width: int = Field(protocol.IMAGE_WIDTH, gt=0, le=1280)
    height: int = Field(protocol.IMAGE_HEIGHT, gt=0, le=960)
    randomization: DomainRandomization = DomainRandomization()
    keep_failures: bool = False
    max_attempts: int | None = Field(None, gt=0)
    """Episodes simulated at most (default: twice ``episodes`` plus 10)."""
    task: str | None = None
    """The task text stored with every frame (default: from the skill and its parameters)."""
    robot: str = "humanoid"
    world: str = "tabletop"

    @property
    def attempts_allowed(self) -> int:
        return self.max_attempts if self.max_attempts is not None else 2 * self.episodes + 10


class EpisodeRecord(BaseModel):
    """One simulated episode, kept or dropped."""

    model_config = ConfigDict(frozen=True)

    seed: int
    success: bool
    kept: bool
    failure: str | None
    cause: str | None
    frames: int
    sim_s: float
    wall_s: float
    cpu_s: float
    """s of CPU time the recording process spent on it (its threads included): what the episode
    costs whatever else the machine runs."""
    render_s: float
    interventions: int
    randomization: dict[str, Any] = {}


class RecordSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    dataset: str
    skill: str
    params: dict[str, Any]
    task: str
    episodes: int
    """Episodes saved in the dataset."""
    attempts: int
    successes: int
    dropped: int
    frames: int
    fps: int
    cameras: list[str]
    image_size: list[int]
    """[width, height] px ([] without images)."""
    randomization: list[str]
    wall_s: float
    episodes_per_min: float
    """Saved episodes a minute of wall-clock time, writer start and finalization included."""
    sim_s_per_episode: float
    cpu_s_per_episode: float
    """CPU time of simulating and rendering one episode (the writer's encoding runs beside it)."""
    render_s_per_episode: float
    records: list[EpisodeRecord]


def dataset_spec(name: str, layout: FeatureLayout, fps: int, images: bool, sidecar: dict[str, Any]) -> dict[str, Any]:
    """What the learn-side writer creates a dataset from (``record_writer``'s ``--spec``): LeRobot's
    repo id, fps, robot type and features, and the ``meta/dynamical.json`` fields (``sidecar``
    adds to or overrides the layout's)."""
    return {
        "repo_id": f"local/{name}",
        "fps": fps,
        "robot_type": layout.robot,
        "features": layout.lerobot_features(images=images),
        "sidecar": {
            "format": protocol.SIDECAR_FORMAT,
            "robot": layout.robot,
            "fps": fps,
            "layout": layout.to_json(),
            "joint_names": list(layout.joint_names),
            "object_names": list(layout.object_names),
            "cameras": list(layout.cameras) if images else [],
            "randomization": {},
            **sidecar,
        },
    }


def episode_setup(skill: str, params: dict[str, Any]) -> tuple[EpisodeSetup, dict[str, Any]]:
    """The episode of ``skill`` (skills run before it) and its parameters with ``params`` merged in."""
    if skill not in builtin_catalog():
        raise UnknownSkillError(f"no built-in skill {skill!r}; known: {sorted(builtin_catalog())}")
    setup = EPISODES.get(skill, EpisodeSetup())
    return setup, {**setup.params, **params}


class _Episode:
    """The result of simulating one episode (frames still in memory)."""

    def __init__(self, buffer: EpisodeBuffer, record: EpisodeRecord) -> None:
        self.buffer, self.record = buffer, record


def simulate_episode(
    config: RecordConfig,
    seed: int,
    setup: EpisodeSetup,
    params: dict[str, Any],
    description: RobotDescription,
    world: WorldSpec,
    kinematics: Kinematics,
    layout: FeatureLayout,
) -> _Episode:
    """Run one expert episode in a fresh world drawn from ``seed``, sampling frames all along."""
    start, cpu_start = time.perf_counter(), time.process_time()
    with LockstepRuntime(description, world, SafetyConfig(), seed=seed) as runtime:
        runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        drawn = (
            runtime.randomize(config.randomization, np.random.default_rng([seed, 7]))
            if config.randomization.enabled
            else {}
        )
        rig = runtime.camera_rig(layout.cameras, layout.image_width, layout.image_height) if config.images else None
        try:
            runner = SkillRunner(runtime, kinematics)
            buffer = EpisodeBuffer(
                layout,
                config.fps,
                runner.world,
                state=runtime.link.state,
                target=lambda: runner.executor.last_command,
                cameras=rig,
            )
            runner.watchers.append(buffer)
            failure, cause, interventions = None, None, 0
            for skill_id, skill_params in [*setup.before, (config.skill, params)]:
                outcome = runner.run(skill_id, skill_params)
                interventions += outcome.interventions
                if not outcome.success:
                    failure, cause = f"{skill_id}: {outcome.failure}", outcome.cause
                    break
            sim_s = runtime.time
        finally:
            if rig is not None:
                rig.close()
    record = EpisodeRecord(
        seed=seed,
        success=failure is None,
        kept=failure is None or config.keep_failures,
        failure=failure,
        cause=cause,
        frames=len(buffer),
        sim_s=round(sim_s, 3),
        wall_s=round(time.perf_counter() - start, 3),
        cpu_s=round(time.process_time() - cpu_start, 3),
        render_s=round(buffer.render_s, 3),
        interventions=interventions,
        randomization=drawn,
    )
    return _Episode(buffer, record)


class _WriterLink:
    """The writer process and a thread that collects its messages (the simulation never waits on
    a pipe read, only on ``wait_saved`` when too many episodes are pending)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.messages: queue.Queue[dict[str, Any] | BaseException] = queue.Queue()
        self.saved = 0
        self.sent = 0
        self.result: dict[str, Any] | None = None
        self._thread = threading.Thread(target=self._read, name="record-writer-messages", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self.worker.messages():
                self.messages.put(message)
        except BaseException as exc:
            self.messages.put(exc)

    def poll(self, on_saved: Callable[[dict[str, Any]], None], block: bool = False, timeout: float = 0.0) -> None:
        """Handle the messages that came (waiting up to ``timeout`` s for one when ``block``)."""
        while True:
            try:
                message = self.messages.get(block=block, timeout=timeout if block else None)
            except queue.Empty:
                return
            block = False
            if isinstance(message, BaseException):
                raise message
            if message.get("event") == "episode_saved":
                self.saved += 1
                on_saved(message)
            elif message.get("event") == "done":
                self.result = message

    def send(self, command: dict[str, Any]) -> None:
        self.worker.send(command)
        if command.get("command") == "episode":
            self.sent += 1


def record(
    config: RecordConfig,
    on_episode: Callable[[EpisodeRecord], None] | None = None,
    on_saved: Callable[[dict[str, Any]], None] | None = None,
    on_frames: Callable[[EpisodeRecord, dict[str, np.ndarray]], None] | None = None,
) -> RecordSummary:
    """Record ``config.episodes`` kept episodes into ``config.out`` (which must not exist yet).

    ``on_episode`` is called after each simulated episode, ``on_saved`` for each episode the
    writer saved, ``on_frames`` with each kept episode's arrays (``EpisodeBuffer.arrays``) before
    they go to the writer (previews, checks). Raises RecordError, UnknownSkillError,
    LearnEnvError (no learning environment) or LearnWorkerError (the writer failed)."""
    setup, params = episode_setup(config.skill, config.params)
    out = config.out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RecordError(f"{config.out} already exists: give a new directory for the dataset")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.rmdir()  # LeRobot creates the dataset's root itself
    description = RobotDescription.load(config.robot)
    world = WorldSpec.load(config.world)
    cameras = [c for c in protocol.CAMERAS]
    available = set(description.cameras) | set(world.cameras)
    if config.images and not set(cameras) <= available:
        raise RecordError(f"this robot and world have cameras {sorted(available)}, not {cameras}")
    layout = layout_for(description, list(world.objects), cameras, (config.width, config.height))
    task = config.task or task_text(config.skill, {k: v for _, p in setup.before for k, v in p.items()} | params)
    kinematics = Kinematics(build_model(description), description)
    spool_root = Path(tempfile.mkdtemp(prefix=f".{out.name}-spool-", dir=out.parent))
    spec = dataset_spec(
        out.name,
        layout,
        config.fps,
        config.images,
        {
            "world": world.name,
            "skill": config.skill,
            "params": params,
            "task": task,
            "randomization": config.randomization.model_dump(),
            "keep_failures": config.keep_failures,
        },
    )
    spec_path = spool_root / "spec.json"
    spec_path.write_text(json.dumps(spec))
    started = time.perf_counter()
    records: list[EpisodeRecord] = []
    saved_messages: list[dict[str, Any]] = []

    def saved(message: dict[str, Any]) -> None:
        saved_messages.append(message)
        if on_saved is not None:
            on_saved(message)

    try:
        with Worker("record_writer", ["--root", str(out), "--spec", str(spec_path)], stdin=True) as worker:
            link = _WriterLink(worker)
            kept = 0
            try:
                for attempt in range(config.attempts_allowed):
                    if kept >= config.episodes:
                        break
                    episode = simulate_episode(
                        config, config.seed + attempt, setup, params, description, world, kinematics, layout
                    )
                    records.append(episode.record)
                    if on_episode is not None:
                        on_episode(episode.record)
                    link.poll(saved)
                    if not episode.record.kept or len(episode.buffer) == 0:
                        continue
                    kept += 1
                    if on_frames is not None:
                        on_frames(episode.record, episode.buffer.arrays())
                    command = episode.buffer.write_spool(
                        spool_root / f"episode_{attempt:06d}",
                        task,
                        episode.record.success,
                        {
                            "seed": episode.record.seed,
                            "failure": episode.record.failure,
                            "cause": episode.record.cause,
                            "sim_s": episode.record.sim_s,
                            "interventions": episode.record.interventions,
                            "randomization": episode.record.randomization,
                        },
                    )
                    del episode
                    link.send(dict(command))
                    while link.sent - link.saved > MAX_PENDING:
                        link.poll(saved, block=True, timeout=WRITER_FINISH_TIMEOUT_S)
            finally:
                # Whatever happened (an interrupt included), the episodes sent are saved and the
                # dataset finalized: what was recorded is never lost.
                if worker.proc.poll() is None:
                    link.send({"command": "finish"})
                    deadline = time.monotonic() + WRITER_FINISH_TIMEOUT_S
                    while link.result is None and time.monotonic() < deadline:
                        link.poll(saved, block=True, timeout=1.0)
            if link.result is None:
                raise LearnWorkerError(f"the dataset writer did not finish within {WRITER_FINISH_TIMEOUT_S:.0f} s")
    finally:
        shutil.rmtree(spool_root, ignore_errors=True)
    wall = time.perf_counter() - started
    saved_count = len(saved_messages)
    if saved_count == 0:
        shutil.rmtree(out, ignore_errors=True)
        failures = [r.failure for r in records if r.failure][:3]
        raise RecordError(f"no episode of {config.skill} succeeded in {len(records)} attempts: {failures}")
    return RecordSummary(
        dataset=str(out),
        skill=config.skill,
        params=params,
        task=task,
        episodes=saved_count,
        attempts=len(records),
        successes=sum(r.success for r in records),
        dropped=sum(not r.kept for r in records),
        frames=sum(int(m["frames"]) for m in saved_messages),
        fps=config.fps,
        cameras=list(layout.cameras) if config.images else [],
        image_size=[layout.image_width, layout.image_height] if config.images else [],
        randomization=config.randomization.enabled,
        wall_s=round(wall, 2),
        episodes_per_min=round(saved_count / wall * 60.0, 3),
        sim_s_per_episode=round(sum(r.sim_s for r in records) / len(records), 3),
        cpu_s_per_episode=round(sum(r.cpu_s for r in records) / len(records), 3),
        render_s_per_episode=round(sum(r.render_s for r in records) / len(records), 3),
        records=records,
    )
