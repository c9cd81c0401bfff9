"""Perception of a lock-step simulation: the pipeline on the simulator's cameras, stepped as a
runner watcher at the perception rate (tier 2) of simulated time, and the perceived world model
skills and planning read instead of the simulator's truth (``world.source: perception``)."""

from __future__ import annotations

from collections.abc import Sequence

from dynamical.perception.pipeline import PerceptionPipeline
from dynamical.perception.tracker import ObjectTracker
from dynamical.perception.world_model import PerceivedWorldModel
from dynamical.robot.sim_robot import SimObserver
from dynamical.skills.world_model import WorldModel


class PerceptionWatcher:
    """Calls ``pipeline.update()`` every 1/``rate_hz`` s of the runner's clock."""

    def __init__(self, pipeline: PerceptionPipeline, rate_hz: float) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self.pipeline, self.period = pipeline, 1.0 / rate_hz
        self._next = 0.0
        self.cycles = 0

    def __call__(self, t: float) -> None:
        if t + 1e-9 < self._next:
            return
        self.pipeline.update()
        self.cycles += 1
        self._next = t + self.period


def perceive_simulation(
    observer: SimObserver,
    base: WorldModel,
    cameras: Sequence[str],
    width: int = 320,
    height: int = 240,
    rate_hz: float = 10.0,
    forget_after_s: float = 5.0,
) -> tuple[PerceivedWorldModel, PerceptionWatcher]:
    """A perceived world over ``observer``'s simulation, already updated once, and the watcher
    that keeps it current (append it to a ``SkillRunner``'s watchers)."""
    model, data = observer.scene()
    pipeline = PerceptionPipeline.for_sim(model, data, observer.objects, cameras, width, height)
    pipeline.tracker = ObjectTracker(decay_s=forget_after_s / 2, forget_after_s=forget_after_s)
    pipeline.update()
    perceived = PerceivedWorldModel(base, pipeline.tracker, lambda: observer.time, hand_pose=observer.site_pose)
    return perceived, PerceptionWatcher(pipeline, rate_hz)
