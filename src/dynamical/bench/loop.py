"""`dynamical bench loop`: the 1 kHz and 200 Hz loops in their real processes.

The realtime process (safety kernel + simulated driver) ticks at 1 kHz. This process is the
executive: at 200 Hz it runs a policy-sized network forward pass (a PyTorch MLP) and plays the
demo motion through the skill executor, which streams trajectory segments with its lookahead
(the path every skill takes). Optionally, CPU hogs (busy processes at normal priority, as a
browser would be) share the cores meanwhile. It counts the kernel's watchdog events and samples
how much streamed trajectory the kernel had left ahead at each control tick. At the end it
triggers e-stops and measures the time from each request to the first stopping command the
driver received.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from pydantic import BaseModel

from dynamical.config import Settings
from dynamical.launch import load_description, realtime_process
from dynamical.robot.demo_motion import demo_targets
from dynamical.robot.description import RobotDescription
from dynamical.runtime.channels import StateSample
from dynamical.runtime.clock import RealtimeClock, TickInfo, run_for
from dynamical.runtime.link import ExecutiveLink
from dynamical.runtime.timing import TimingRecorder, TimingSnapshot
from dynamical.safety.rules import Rule
from dynamical.skills.executor import Executor, SkillContext, SkillStep

WATCHDOG_RULES = (Rule.WATCHDOG_HOLD, Rule.WATCHDOG_DECELERATE, Rule.WATCHDOG_PROTECTIVE_STOP)
POLICY_HIDDEN = 1024
ESTOP_TRIALS = 10


class LoopBenchResult(BaseModel):
    seconds: float
    realtime_priority: str
    """What the OS granted the realtime process (SCHED_FIFO or the fallback)."""
    safety: TimingSnapshot
    control: TimingSnapshot
    policy_ms_p50: float
    estop_latency_ms: dict[str, float]
    """Request to the first stopping command the driver received: p50 and max over trials."""
    hogs: int = 0
    """Busy processes that shared the cores during the run."""
    watchdog_events: dict[str, int] = {}
    """The kernel's watchdog events during the run, by rule (zero each: the executive never
    starved the kernel)."""
    lookahead_ms: dict[str, float] = {}
    """Streamed trajectory the kernel had left ahead, sampled at each control tick: p1 and min."""


def policy_network(n_joints: int) -> torch.nn.Module:
    """A stand-in for a learned policy of realistic size: 3 hidden layers of 1024 (about 2.2 M
    parameters), state in, joint targets out."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3 * n_joints, POLICY_HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(POLICY_HIDDEN, POLICY_HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(POLICY_HIDDEN, POLICY_HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(POLICY_HIDDEN, n_joints),
    ).eval()


class DemoMotion:
    """The demo motion as a skill: the executor streams it with its plan ahead."""

    name = "demo motion"

    def __init__(self, description: RobotDescription) -> None:
        self.description = description
        self.groups = tuple(description.groups)
        self._t0 = 0.0

    def start(self, context: SkillContext) -> None:
        self._t0 = context.t_start

    def step(self, t: float, state: StateSample) -> SkillStep:
        return SkillStep(q=self.preview(t))

    def preview(self, t: float) -> np.ndarray:
        return demo_targets(self.description, t - self._t0)


def _spin(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        pass


@contextmanager
def cpu_hogs(count: int) -> Iterator[None]:
    """``count`` processes busy-looping at normal priority for the duration."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    hogs = [context.Process(target=_spin, args=(stop,), daemon=True) for _ in range(count)]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        stop.set()
        for hog in hogs:
            hog.join(5.0)
            if hog.is_alive():
                hog.kill()


def bench_loop(settings: Settings, seconds: float, hogs: int = 0) -> LoopBenchResult:
    """Both loops for ``seconds`` (with ``hogs`` busy processes beside them), then the e-stops."""
    description = load_description(settings)
    torch.set_num_threads(1)  # one core for the executive, the other for the realtime process
    network = policy_network(description.n_joints)
    process = realtime_process(settings)
    period = 1.0 / settings.rates.control_hz
    control = TimingRecorder("control", period)
    policy_times: list[float] = []
    lookahead: list[float] = []
    with process:
        link = process.link
        assert link is not None
        clock = RealtimeClock(period, realtime=True, priority=50)
        try:
            counts = {rule.name: 0 for rule in WATCHDOG_RULES}
            with cpu_hogs(hogs):
                _run_executive(link, clock, control, network, description, seconds, policy_times, lookahead, counts)
            _count_watchdog(link, counts)
            latencies = _estop_trials(link, clock, description)
        finally:
            clock.close()
        safety = process.timing()
        status = process.realtime_status()
    return LoopBenchResult(
        seconds=seconds,
        realtime_priority=status,
        safety=safety,
        control=control.snapshot(),
        policy_ms_p50=float(np.median(policy_times) * 1e3),
        estop_latency_ms={"p50": float(np.median(latencies) * 1e3), "max": float(np.max(latencies) * 1e3)},
        hogs=hogs,
        watchdog_events=counts,
        lookahead_ms={
            "p1": float(np.percentile(lookahead, 1) * 1e3) if lookahead else float("nan"),
            "min": float(np.min(lookahead) * 1e3) if lookahead else float("nan"),
        },
    )


def _run_executive(
    link: ExecutiveLink,
    clock: RealtimeClock,
    control: TimingRecorder,
    network: torch.nn.Module,
    description: RobotDescription,
    seconds: float,
    policy_times: list[float],
    lookahead: list[float],
    counts: dict[str, int],
) -> None:
    executor = Executor(link, description, clock.period)
    executor.run(DemoMotion(description), timeout_s=seconds + 10.0)

    def step(t: float, info: TickInfo) -> None:
        state = link.state()
        t0 = time.perf_counter()
        if state is not None:  # the load a policy puts here
            network(torch.from_numpy(np.concatenate([state.q, state.dq, state.tau]).astype(np.float32)))
        policy_times.append(time.perf_counter() - t0)
        status = link.status()  # before this tick's segment: what the last one left
        if status is not None and np.isfinite(status.lookahead_s):
            lookahead.append(status.lookahead_s)
        executor.tick(clock.now())
        _count_watchdog(link, counts)  # every tick: the event ring must not overflow in a long run
        control.record(info.start, info.deadline, clock.now())
        if clock.missed:
            control.add_missed(clock.missed)
            clock.missed = 0

    with torch.inference_mode():
        run_for(clock, seconds, step)


def _count_watchdog(link: ExecutiveLink, counts: dict[str, int]) -> None:
    for event in link.events():
        rule = Rule(event.rule)
        if rule in WATCHDOG_RULES:
            counts[rule.name] += 1


def _estop_trials(link: ExecutiveLink, clock: RealtimeClock, description: RobotDescription) -> list[float]:
    """E-stop (category 2) while moving, measure, reset, resume; ESTOP_TRIALS times."""
    latencies = []
    for trial in range(ESTOP_TRIALS):
        for _ in range(40):  # 0.2 s of motion before each stop
            info = clock.wait_next()
            link.send(demo_targets(description, 1.0 + trial * 0.2 + info.index * clock.period))
        seq = link.estop(2)
        requested = link.channels.status.pending_estop()[2]
        deadline = time.monotonic() + 1.0
        status = link.status()
        while (status is None or status.estop_category < 0) and time.monotonic() < deadline:
            time.sleep(50e-6)
            status = link.status()
        if status is None or status.estop_category < 0:
            raise RuntimeError(f"e-stop request {seq} was not acted on within 1 s")
        latencies.append(status.estop_latched_t - requested)
        _reset_when_stopped(link)
    return latencies


def _reset_when_stopped(link: ExecutiveLink, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        link.reset()
        time.sleep(0.02)
        status = link.status()
        if status is not None and status.estop_category < 0:
            return
    raise RuntimeError("the robot did not come to rest for a reset after an e-stop")
