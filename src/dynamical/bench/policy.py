"""`dynamical bench policy SKILL`: a learned policy's inference time and what it costs tier 1.

The realtime process (safety kernel + simulated driver, its own process, 1 kHz) runs as deployed;
this process is the executive: a 200 Hz control thread ticks the skill executor, which streams
trajectory segments. Two phases of equal length, one after the other on the same robot: a
scripted motion (the bench loop's demo motion), then the learned policy (its ONNX graph on a
worker thread with one intra-op thread, observations from the measured state and the world
channel, chunks requested ahead of need, temporally ensembled). Each phase's control-tier late
ticks are counted the same way; the policy's chunk times are measured isolated (the graph alone,
back to back) and in the loop (while the control thread runs beside it).
"""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel

from dynamical.config import Settings
from dynamical.launch import load_description, load_world, realtime_process
from dynamical.robot.scene import build_model
from dynamical.robot.sim_robot import WorldIndex
from dynamical.runtime.clock import RealtimeClock, TickInfo, run_for
from dynamical.runtime.link import ExecutiveLink
from dynamical.runtime.timing import TimingRecorder, TimingSnapshot
from dynamical.skills.artifact import SkillArtifact
from dynamical.skills.channel_world import ChannelWorldModel, static_surfaces
from dynamical.skills.executor import Executor, Skill
from dynamical.skills.policy_spec import ONNX_PATH

ISOLATED_CHUNKS = 200
"""Graph runs back to back for the isolated chunk time."""
STATE_WAIT_S = 10.0


class PhaseResult(BaseModel):
    skill: str
    control: TimingSnapshot
    starvations: int
    """Control ticks on which a chunk-playing skill had nothing planned ahead."""
    status: str
    """How the skill's run stood at the phase's end (running: it ran throughout)."""


class PolicyBenchResult(BaseModel):
    skill: str
    seconds: float
    onnx_mb: float
    """Size of the policy graph, MB (10⁶ bytes): what an upload of the skill carries."""
    chunk_ms_isolated: dict[str, float]
    """p50, p99, max of one graph run alone (one intra-op thread), ms."""
    chunk_ms_in_loop: dict[str, float]
    """p50, p99, max of the graph runs while the control loop ran, ms."""
    chunks: int
    max_chunk_latency_ms: float | None
    """Longest time from a chunk request to its arrival at the executor, ms."""
    scripted: PhaseResult
    policy: PhaseResult


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    values = np.asarray(samples) * 1e3
    return {
        "p50": float(np.percentile(values, 50)),
        "p99": float(np.percentile(values, 99)),
        "max": float(values.max()),
    }


def bench_policy(settings: Settings, artifact: SkillArtifact, seconds: float) -> PolicyBenchResult:
    """Both phases for ``seconds`` each on the configured robot and world."""
    from dynamical.bench.loop import DemoMotion
    from dynamical.learning.onnx_policy import load_policy_skill

    description = load_description(settings)
    world_spec = load_world(settings)
    if world_spec is None:
        raise ValueError("a policy bench needs a world with objects; the configured sim.world is 'none'")
    model = build_model(description, world_spec)
    index = WorldIndex.of(model, description, world_spec)
    surfaces = static_surfaces(model, world_spec)
    period = 1.0 / settings.rates.control_hz
    process = realtime_process(settings)
    with process:
        link = process.link
        assert link is not None
        state = _first_state(link)
        world = ChannelWorldModel(link.channels, description, index, surfaces)
        skill = load_policy_skill(artifact, description, world, {}, lockstep=False)
        skill.duration_s = None  # the phase's end ends it, not its nominal duration
        isolated = _isolated(skill, state)
        executor = Executor(link, description, period)
        scripted = _phase(link, executor, DemoMotion(description), seconds, period, "scripted")
        try:
            learned = _phase(link, executor, skill, seconds, period, "policy")
        finally:
            skill.close()
    return PolicyBenchResult(
        skill=artifact.manifest.id,
        seconds=seconds,
        onnx_mb=round(len(artifact.files[ONNX_PATH]) / 1e6, 2),
        chunk_ms_isolated=_percentiles(isolated),
        chunk_ms_in_loop=_percentiles(skill.onnx.latencies_s),
        chunks=len(skill.onnx.latencies_s),
        max_chunk_latency_ms=None
        if executor.history[-1].max_chunk_latency_s is None
        else executor.history[-1].max_chunk_latency_s * 1e3,
        scripted=scripted,
        policy=learned,
    )


def _first_state(link: ExecutiveLink):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + STATE_WAIT_S
    while (state := link.state()) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the realtime process measured nothing within {STATE_WAIT_S:g} s")
        time.sleep(0.01)
    return state


def _isolated(skill, state) -> list[float]:  # type: ignore[no-untyped-def]
    """Graph runs back to back on one real observation, s each."""
    features = skill.onnx.observe(state)
    times = []
    for _ in range(ISOLATED_CHUNKS):
        started = time.perf_counter()
        skill.onnx.policy.predict(features)
        times.append(time.perf_counter() - started)
    return times


def _phase(
    link: ExecutiveLink, executor: Executor, skill: Skill, seconds: float, period: float, name: str
) -> PhaseResult:
    control = TimingRecorder(name, period)
    clock = RealtimeClock(period, realtime=True, priority=50)
    try:
        executor.run(skill, timeout_s=seconds + 10.0)

        def step(t: float, info: TickInfo) -> None:
            executor.tick(clock.now())
            link.events()  # drained every tick: the event ring must not overflow
            control.record(info.start, info.deadline, clock.now())
            if clock.missed:
                control.add_missed(clock.missed)
                clock.missed = 0

        run_for(clock, seconds, step)
    finally:
        clock.close()
    report = executor.report
    assert report is not None
    status = report.status
    executor.cancel()
    return PhaseResult(skill=skill.name, control=control.snapshot(), starvations=report.starvations, status=status)
