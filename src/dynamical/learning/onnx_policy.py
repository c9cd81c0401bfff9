"""A learned policy skill: an exported ONNX graph run by the executor at the control rate.

The pieces, each with one job:

- ``OnnxPolicy``: an onnxruntime session (one intra-op thread: it must not take the control
  tier's core) that maps one observation to one action chunk (chunk_size, n) in rad.
- ``ObservationBuilder``: the graph's inputs from the measured robot state, the world model and
  the cameras, through ``learning.features`` (the functions the recorder used: a policy never
  meets a vector laid out differently from its training data).
- ``TemporalEnsembler``: ACT's temporal ensembling over overlapping chunks: every planned time
  gets the weighted mean of all predictions made for it, wᵢ = exp(−m·i), i = 0 the oldest.
- ``OnnxChunkSource``: a ``ChunkSource``: ``request`` snapshots the observation and runs the
  graph off the 200 Hz thread (a worker thread; onnxruntime releases the interpreter lock while it
  computes), ``poll`` hands the ensembled chunk to the executor, which asks ahead of need.
  In lock-step simulation the graph runs at the request and the chunk arrives on the next tick:
  simulated episodes stay deterministic whatever the machine's load.
- ``LearnedPolicySkill``: the executor's ``PolicySkill`` with a deadline: a policy that gives no
  chunk within ``chunk_timeout_s`` fails the run, and it ends after the manifest's nominal
  duration, when the runner checks its postconditions like any skill's.

Everything it commands goes through the executor's trajectory segments into the safety kernel.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from dynamical.learning.features import FeatureLayout, FeatureLayoutError
from dynamical.robot.description import RobotDescription
from dynamical.runtime.channels.state import StateSample
from dynamical.skills.artifact import SkillArtifact
from dynamical.skills.chunks import ActionChunk
from dynamical.skills.errors import SkillsError
from dynamical.skills.executor import PolicySkill, SkillContext, SkillStep
from dynamical.skills.policy_spec import ONNX_PATH, PolicySpec, check_policy_files
from dynamical.skills.world_model import WorldModel

CHUNK_TIMEOUT_S = 1.0
"""s a requested chunk may take before the policy skill fails (a hung or starved model)."""
PLAY_S = 0.5
"""s of each ensembled chunk handed to the executor: it asks for the next one before this runs
out, so every planned instant is predicted several times and ensembled."""
SESSION_CACHE = 4
"""ONNX sessions kept per process, by artifact digest (an evaluation runs one policy many times)."""

CameraSource = Callable[[str], np.ndarray]
"""Camera name → its latest frame (H, W, 3) uint8 RGB."""
CameraRigFactory = Callable[[Sequence[str], int, int], Any]
"""(camera names, width px, height px) → a rig with ``render(name)`` and ``close()`` (e.g.
``LockstepRuntime.camera_rig``): cameras made at the size the policy was trained on."""


class PolicyLoadError(SkillsError):
    """A policy package that cannot run here (graph and spec disagree, robot or world mismatch)."""


class PolicyInferenceError(SkillsError):
    """The graph failed or gave a non-finite or misshapen chunk."""


class OnnxPolicy:
    """One ONNX policy graph: ``predict(features) -> (chunk_size, n)`` rad."""

    def __init__(self, graph: bytes, spec: PolicySpec, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Every graph rewrite onnxruntime has (fused attention and GELU, constant folding), once at load.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # A worker that waits for work spins on a core by default: on a robot whose two cores also
        # run the control tier, it sleeps instead (only matters with threads > 1).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
            raise PolicyLoadError(f"{ONNX_PATH} does not load in onnxruntime: {exc}") from None
        self.spec = spec
        have = {i.name: i.shape for i in self.session.get_inputs()}
        for tensor in spec.inputs:
            if tensor.name not in have:
                raise PolicyLoadError(f"the graph has no input {tensor.name!r} (inputs: {sorted(have)})")
            if list(have[tensor.name]) != tensor.shape:
                raise PolicyLoadError(
                    f"graph input {tensor.name!r} has shape {have[tensor.name]}, policy.json says {tensor.shape}"
                )
        outputs = [o.name for o in self.session.get_outputs()]
        if spec.output.name not in outputs:
            raise PolicyLoadError(f"the graph has no output {spec.output.name!r} (outputs: {outputs})")

    def predict(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """(chunk_size, n) float64 joint targets, rad, from ``features`` (name → array of the
        spec's shape, float32)."""
        feed = {}
        for tensor in self.spec.inputs:
            value = np.ascontiguousarray(features[tensor.name], dtype=np.float32)
            if list(value.shape) != tensor.shape:
                raise PolicyInferenceError(f"input {tensor.name!r} has shape {list(value.shape)}, needs {tensor.shape}")
            if not np.isfinite(value).all():
                raise PolicyInferenceError(f"input {tensor.name!r} holds non-finite values")
            feed[tensor.name] = value
        (out,) = self.session.run([self.spec.output.name], feed)
        if list(out.shape) != self.spec.output.shape:
            raise PolicyInferenceError(f"the graph gave shape {list(out.shape)}, expected {self.spec.output.shape}")
        if not np.isfinite(out).all():
            raise PolicyInferenceError("the graph gave non-finite joint targets")
        return out[0].astype(float)


_sessions: OrderedDict[str, OnnxPolicy] = OrderedDict()
_sessions_lock = threading.Lock()


def policy_of(artifact: SkillArtifact) -> OnnxPolicy:
    """The artifact's ONNX policy, loaded once per process (sessions take a while to build)."""
    with _sessions_lock:
        cached = _sessions.get(artifact.digest)
        if cached is not None:
            _sessions.move_to_end(artifact.digest)
            return cached
    spec = check_policy_files(artifact.manifest.policy_format, artifact.files)
    if spec is None:
        raise PolicyLoadError(f"skill {artifact.manifest.id!r} carries no policy graph (policy_format is not set)")
    policy = OnnxPolicy(artifact.files[ONNX_PATH], spec)
    with _sessions_lock:
        _sessions[artifact.digest] = policy
        while len(_sessions) > SESSION_CACHE:
            _sessions.popitem(last=False)
    return policy


class ObservationBuilder:
    """The graph's inputs for one instant: state, environment state and camera frames."""

    def __init__(
        self, spec: PolicySpec, layout: FeatureLayout, world: WorldModel, cameras: CameraSource | None = None
    ) -> None:
        names = {t.name for t in spec.inputs}
        known = {"observation.state", "observation.environment_state"} | {
            f"observation.images.{c}" for c in layout.cameras
        }
        unknown = sorted(names - known)
        if unknown:
            raise PolicyLoadError(f"the policy reads {unknown}, which this runtime does not observe")
        if spec.image_inputs and cameras is None:
            wanted = [t.name for t in spec.image_inputs]
            raise PolicyLoadError(f"the policy needs camera frames ({wanted}) and this host gives none")
        self.spec = spec
        self.layout = layout
        self.world = world
        self.cameras = cameras

    def __call__(self, state: StateSample) -> dict[str, np.ndarray]:
        features: dict[str, np.ndarray] = {}
        for tensor in self.spec.inputs:
            if tensor.name == "observation.state":
                value = self.layout.state_from_sample(state)
            elif tensor.name == "observation.environment_state":
                value = self.layout.environment_state(self.world)
            else:
                assert self.cameras is not None
                frame = np.asarray(self.cameras(tensor.name.rsplit(".", 1)[1]))
                # LeRobot trains on float CHW in [0, 1].
                value = np.transpose(frame, (2, 0, 1)).astype(np.float32) / 255.0
            features[tensor.name] = value.reshape(tensor.shape)
        return features


class TemporalEnsembler:
    """ACT's temporal ensembling of overlapping chunks on a common clock.

    ``add(t0, q)`` stores the raw prediction ``q`` (H, n) for times ``t0 + k·dt`` and returns the
    ensembled rows for those times: at each, the mean of every stored prediction covering it,
    weighted wᵢ = exp(−m·i) with i = 0 for the oldest (m > 0 trusts older predictions more,
    as ACT's authors found works best; m = 0 is the plain mean)."""

    def __init__(self, coeff: float, dt: float) -> None:
        if not (math.isfinite(coeff) and dt > 0):
            raise ValueError(f"need a finite coefficient and dt > 0 s, got {coeff}, {dt}")
        self.coeff = float(coeff)
        self.dt = float(dt)
        self._history: deque[tuple[float, np.ndarray]] = deque()

    def reset(self) -> None:
        self._history.clear()

    def add(self, t0: float, q: np.ndarray) -> np.ndarray:
        q = np.asarray(q, dtype=float)
        times = t0 + np.arange(q.shape[0]) * self.dt  # (H,)
        # Predictions that end before this one starts no longer cover anything ahead.
        while self._history and self._history[0][0] + (self._history[0][1].shape[0] - 1) * self.dt < t0:
            self._history.popleft()
        self._history.append((t0, q))
        total = np.zeros_like(q)
        weights = np.zeros(q.shape[0])
        counts = np.zeros(q.shape[0], dtype=int)  # predictions already in each row's mean
        for start, rows in self._history:  # oldest first
            s = (times - start) / self.dt
            covered = (s >= -1e-9) & (s <= rows.shape[0] - 1 + 1e-9)
            if not covered.any():
                continue
            last = rows.shape[0] - 1
            s = np.clip(s, 0.0, last)
            k = np.minimum(np.floor(s).astype(int), max(last - 1, 0))
            a = (s - k)[:, None]
            value = (1.0 - a) * rows[k] + a * rows[np.minimum(k + 1, last)]
            w = np.where(covered, np.exp(-self.coeff * counts), 0.0)
            total += w[:, None] * value
            weights += w
            counts += covered
        return total / weights[:, None]


class OnnxChunkSource:
    """A ``ChunkSource`` running an ``OnnxPolicy``: ensembled chunks, produced off the control thread."""

    def __init__(
        self,
        policy: OnnxPolicy,
        observe: Callable[[StateSample], dict[str, np.ndarray]],
        layout: FeatureLayout,
        *,
        lockstep: bool,
        play_s: float = PLAY_S,
    ) -> None:
        """``lockstep``: run the graph at the request (simulated time stands still meanwhile)
        and hand the chunk over on the next poll; else on a worker thread."""
        self.policy = policy
        self.observe = observe
        self.layout = layout
        self.lockstep = lockstep
        spec = policy.spec
        self.rows = max(2, min(spec.chunk_size, math.ceil(play_s * spec.fps) + 1))
        self.ensembler = TemporalEnsembler(spec.temporal_ensemble_coeff, spec.dt)
        self.hold: np.ndarray | None = None
        """(N,) the full joint target the policy's chunks keep for joints it does not command."""
        self.latencies_s: list[float] = []
        """Wall-clock time of each graph run, s."""
        self._pool = None if lockstep else ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnx-policy")
        self._pending: deque[tuple[float, Future[np.ndarray] | np.ndarray]] = deque()

    def begin(self, hold: np.ndarray) -> None:
        """A new run from ``hold`` (N,) rad: forget earlier predictions."""
        self.hold = np.asarray(hold, dtype=float).copy()
        self.ensembler.reset()
        self._pending.clear()

    def request(self, t: float, state: Any) -> None:
        # The observation is taken now, on the caller's thread: the chunk is for this instant's
        # world, and the world model is not read from two threads at once.
        features = self.observe(state)
        if self._pool is None:
            self._pending.append((t, self._predict(features)))
        else:
            self._pending.append((t, self._pool.submit(self._predict, features)))

    def poll(self) -> ActionChunk | None:
        newest: ActionChunk | None = None
        while self._pending:
            t, item = self._pending[0]
            if isinstance(item, Future):
                if not item.done():
                    break
                item = item.result()  # raises what producing it raised: the run fails with it
            self._pending.popleft()
            newest = self._chunk(t, item)
        return newest

    def waiting_since(self) -> float | None:
        """s (executor clock) of the oldest request not yet answered, or None."""
        return self._pending[0][0] if self._pending else None

    def _predict(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """(chunk_size, n): the graph alone on the worker thread. onnxruntime computes without the
        interpreter lock; the little Python around it is all the control thread may wait for."""
        started = time.perf_counter()
        raw = self.policy.predict(features)
        self.latencies_s.append(time.perf_counter() - started)
        return raw

    def _chunk(self, t: float, raw: np.ndarray) -> ActionChunk:
        """The chunk to play from prediction ``raw`` (chunk_size, n) made for ``t``: ensembled with
        the earlier ones (in request order), the commanded joints set into the hold."""
        rows = self.ensembler.add(t, raw)[: self.rows]
        assert self.hold is not None, "begin() sets the hold before any request"
        full = np.repeat(self.hold[None, :], len(rows), axis=0)
        full[:, list(self.layout.joint_indices)] = rows
        return ActionChunk(t0=t, dt=self.policy.spec.dt, q=full)

    def close(self) -> None:
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class LearnedPolicySkill(PolicySkill):
    """A learned policy as the executor runs it: chunks from an ``OnnxChunkSource``, a deadline on
    each, and an end after ``duration_s``."""

    def __init__(
        self,
        source: OnnxChunkSource,
        *,
        name: str,
        groups: tuple[str, ...],
        duration_s: float,
        params: dict[str, Any],
        chunk_timeout_s: float = CHUNK_TIMEOUT_S,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(source, name=name, groups=groups, duration_s=duration_s)
        self.onnx = source
        self.params = dict(params)
        self.chunk_timeout_s = float(chunk_timeout_s)
        self._on_close = on_close

    def start(self, context: SkillContext) -> None:
        super().start(context)
        self.onnx.begin(context.q_start)

    def step(self, t: float, state: StateSample) -> SkillStep:
        since = self.onnx.waiting_since()
        if since is not None and t - since > self.chunk_timeout_s:
            return SkillStep(failed=f"the policy gave no action chunk within {self.chunk_timeout_s:g} s")
        return super().step(t, state)

    @property
    def latencies_ms(self) -> list[float]:
        return [round(s * 1e3, 3) for s in self.onnx.latencies_s]

    def close(self) -> None:
        self.onnx.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


def policy_groups(description: RobotDescription, layout: FeatureLayout) -> tuple[str, ...]:
    """The joint groups whose joints the policy commands (every joint of them)."""
    commanded = set(layout.joint_names)
    groups = tuple(g for g, joints in description.groups.items() if joints and set(joints) <= commanded)
    covered = {j for g in groups for j in description.groups[g]}
    if covered != commanded:
        raise PolicyLoadError(
            f"the policy commands joints {sorted(commanded - covered)[:5]} without the rest of their groups"
        )
    return groups


def load_policy_skill(
    artifact: SkillArtifact,
    description: RobotDescription,
    world: WorldModel,
    params: dict[str, Any],
    *,
    lockstep: bool,
    cameras: CameraSource | None = None,
    camera_rig: CameraRigFactory | None = None,
) -> LearnedPolicySkill:
    """The executor skill of a policy artifact on this robot and world; raises PolicyLoadError
    when the policy was trained for another joint set, object set or cameras.

    A policy that sees gets its frames from ``cameras``, else from a rig ``camera_rig`` makes
    at its training size (closed with the skill)."""
    policy = policy_of(artifact)
    spec = policy.spec
    try:
        layout = FeatureLayout.from_json(spec.layout.model_dump(), description)
        layout.check_compatible(description, world.object_names())
    except FeatureLayoutError as exc:
        raise PolicyLoadError(f"skill {artifact.manifest.id!r} does not fit this robot: {exc}") from None
    on_close = None
    if spec.image_inputs and cameras is None and camera_rig is not None:
        try:
            rig = camera_rig(layout.cameras, layout.image_width, layout.image_height)
        except Exception as exc:  # a renderer that cannot start here (no GL) says why
            raise PolicyLoadError(f"the policy needs cameras {list(layout.cameras)}: {exc}") from None
        cameras, on_close = rig.render, rig.close
    observe = ObservationBuilder(spec, layout, world, cameras)
    source = OnnxChunkSource(policy, observe, layout, lockstep=lockstep)
    return LearnedPolicySkill(
        source,
        name=artifact.manifest.id,
        groups=policy_groups(description, layout),
        duration_s=artifact.manifest.nominal_duration_s,
        params=params,
        on_close=on_close,
    )
