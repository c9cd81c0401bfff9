"""What the runtime side and the learn side agree on: feature names, file names, JSON-lines messages.

Both environments import this module (the runtime's Python 3.11 ``.venv`` and the learning tier's
Python 3.12 ``.venv-learn``), so it imports nothing but the standard library. What crosses between
the two processes is files (LeRobot datasets, episode spools, checkpoints, exported policies) and
one JSON object per line: commands on a worker's stdin, messages on its stdout. Nothing is pickled.

Messages (worker → runtime), one JSON object per line on the worker's stdout::

    {"event": "progress", "step": 10, "total": 100, "loss": 0.3}
    {"event": "log", "message": "..."}
    {"event": "episode_saved", "episode_index": 3, "frames": 241}
    {"event": "done", ...result fields...}
    {"event": "error", "message": "one line a person can act on"}

Commands (runtime → worker), one JSON object per line on the worker's stdin (the dataset writer)::

    {"command": "episode", "spool": "/abs/dir/episode_000003", "task": "pick up the red cube", ...}
    {"command": "finish"}
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import IO, Any, Literal, TypedDict

# --- feature names (LeRobot's conventions) ---------------------------------------------------
STATE = "observation.state"
"""float32 (2n,): the commanded joints' positions (rad) then their velocities (rad/s)."""
ENVIRONMENT_STATE = "observation.environment_state"
"""float32 (7k,): each world-model object's position xyz (m) then quaternion wxyz, fixed order."""
IMAGE_PREFIX = "observation.images."
IMAGE_HEAD = IMAGE_PREFIX + "head"
IMAGE_FRONT = IMAGE_PREFIX + "front"
ACTION = "action"
"""float32 (n,): the joint targets (rad) the executive sent, before the safety kernel."""
CAMERAS: tuple[str, ...] = ("head", "front")
"""The robot cameras recorded, in this order (``IMAGE_PREFIX + name``)."""
TASK = "task"
"""The per-frame task text LeRobot stores."""

# --- recording defaults ---------------------------------------------------------------------
DEFAULT_FPS = 30
"""Frames a second of a recorded dataset (the control tier runs at 200 Hz; every ~7th tick)."""
IMAGE_WIDTH = 128
IMAGE_HEIGHT = 96
"""px, the recorded camera frames: small enough to record two cameras faster than 2 episodes/min."""

# --- file names ---------------------------------------------------------------------------------
DATASET_SIDECAR = "meta/dynamical.json"
"""Inside a dataset: what LeRobot has no place for (per-episode success, seed, skill, params,
randomization, joint and object names). See ``DatasetSidecar``."""
SPOOL_ARRAYS = "arrays.npz"
"""Inside an episode spool directory: the episode's frames, one array per feature, first axis time
(``numpy.savez``, loaded with ``allow_pickle=False``). Images are uint8 (T, H, W, 3)."""
SPOOL_EPISODE = "episode.json"
"""Inside an episode spool directory: the ``EpisodeCommand`` that describes it."""
RUN_JSON = "run.json"
"""Inside a training run directory: our run id, dataset, policy, config and status."""
METRICS_JSONL = "metrics.jsonl"
"""Inside a training run directory: one ``{"step", "loss", "lr", "time"}`` object per line."""
POLICY_JSON = "policy.json"
"""Inside a policy package: features, joint names, object order, fps, chunk size, n_action_steps."""

# --- environment variables ----------------------------------------------------------------------
ENV_LEARN_PYTHON = "DYNAMICAL_LEARN_PYTHON"
"""Path of the learning environment's interpreter (default ``<repo>/.venv-learn/bin/python``)."""
ENV_TORCH_THREADS = "DYNAMICAL_TORCH_THREADS"
"""Set by the launcher: the worker calls ``torch.set_num_threads`` with it (1 at idle priority)."""


# --- message shapes -------------------------------------------------------------------------------
Event = Literal["progress", "log", "episode_saved", "done", "error"]
EVENTS: tuple[str, ...] = ("progress", "log", "episode_saved", "done", "error")


class ProgressMessage(TypedDict, total=False):
    event: Literal["progress"]
    step: int
    total: int
    loss: float


class EpisodeSavedMessage(TypedDict):
    event: Literal["episode_saved"]
    episode_index: int
    frames: int


class ErrorMessage(TypedDict):
    event: Literal["error"]
    message: str


class EpisodeCommand(TypedDict):
    """Runtime → writer: one recorded episode waits in ``spool`` (``SPOOL_ARRAYS``)."""

    command: Literal["episode"]
    spool: str
    task: str
    frames: int
    success: bool
    meta: dict[str, Any]
    """Per-episode facts for the sidecar: seed, skill, params, randomization, failure."""


class FinishCommand(TypedDict):
    command: Literal["finish"]


class DatasetSidecar(TypedDict):
    """``meta/dynamical.json``: one object, rewritten as episodes are saved."""

    format: int
    robot: str
    skill: str
    params: dict[str, Any]
    fps: int
    joint_names: list[str]
    object_names: list[str]
    cameras: list[str]
    randomization: dict[str, Any]
    episodes: list[dict[str, Any]]
    """One per saved episode, in episode-index order: index, seed, success, frames, failure, …"""


SIDECAR_FORMAT = 1


class ProtocolError(ValueError):
    """A line that is not a protocol message (not JSON, not an object, no known event)."""


def encode(message: dict[str, Any]) -> str:
    """One line of JSON (no NaN: strict JSON parsers on the other side refuse it)."""
    return json.dumps(_finite(message), separators=(",", ":"), allow_nan=False) + "\n"


def decode(line: str) -> dict[str, Any]:
    """The message on ``line``; raises ProtocolError for anything else."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {line[:200]!r} ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"not a JSON object: {line[:200]!r}")
    if "event" not in value and "command" not in value:
        raise ProtocolError(f"neither an event nor a command: {line[:200]!r}")
    return value


def progress(step: int, total: int, **fields: Any) -> dict[str, Any]:
    return {"event": "progress", "step": step, "total": total, **fields}


def done(**fields: Any) -> dict[str, Any]:
    return {"event": "done", **fields}


def error(message: str) -> dict[str, Any]:
    return {"event": "error", "message": message}


def log(message: str) -> dict[str, Any]:
    return {"event": "log", "message": message}


class MessageChannel:
    """The learn side's end: messages to the real stdout, everything else printed goes to stderr.

    Libraries (LeRobot, torch, tqdm) print to stdout; one stray line would corrupt the protocol. On
    open, the process's stdout file descriptor is duplicated for messages and fd 1 is pointed at
    stderr, so whatever else writes to stdout ends up in the captured stderr instead."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out: IO[str] = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def send(self, message: dict[str, Any]) -> None:
        self._out.write(encode(message))
        self._out.flush()

    def commands(self) -> Any:
        """The commands on stdin, decoded, until it closes."""
        for line in sys.stdin:
            if line.strip():
                yield decode(line)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
