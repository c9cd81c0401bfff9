"""The skill executor on the real lock-step runtime: scripted skills, chunk playback from an
asynchronous policy, blending, cancellation and timeouts, as the driver and the kernel see them."""

import time

import numpy as np
import pytest

from dynamical.runtime.channels import StateSample
from dynamical.safety.rules import Rule, SafetyMode
from dynamical.skills.chunks import ActionChunk, ChunkQueue, ThreadedChunkSource
from dynamical.skills.executor import (
    Executor,
    ExecutorBusyError,
    PolicySkill,
    SkillContext,
    SkillStep,
)


@pytest.fixture
def executor(runtime, humanoid):
    return Executor(runtime.link, humanoid)


class MoveJoint:
    """Scripted: one joint from where the executor holds it to ``goal`` with a cosine profile
    (zero velocity at both ends); done once the time is up. The shoulder rolls by ``swing_out``
    on the way: outward, so the fingers clear the table's edge (from home, bending the elbow past
    ~0.74 rad alone puts the right index finger on the table)."""

    def __init__(self, description, joint, goal, duration, *, name="move", groups=("arm_right",), swing_out=-0.2):
        self.name, self.groups = name, groups
        self.index, self.goal, self.duration = description.index(joint), goal, duration
        self.roll, self.swing_out = description.index(joint[:2] + "shoulder_roll"), swing_out
        self.last: np.ndarray | None = None

    def start(self, context: SkillContext) -> None:
        self.t0, self.q0 = context.t_start, context.q_start.copy()

    def step(self, t: float, state: StateSample) -> SkillStep:
        s = 0.5 * (1.0 - np.cos(np.pi * min((t - self.t0) / self.duration, 1.0)))
        q = self.q0.copy()
        q[self.index] += (self.goal - self.q0[self.index]) * s
        q[self.roll] += self.swing_out * s
        self.last = q
        return SkillStep(q=q, done=s >= 1.0)


class Hold:
    """Scripted: holds its start pose and never finishes."""

    name, groups = "hold", ("arm_right",)

    def start(self, context: SkillContext) -> None:
        self.q = context.q_start.copy()

    def step(self, t: float, state: StateSample) -> SkillStep:
        return SkillStep(q=self.q)


def elbow(description):
    return description.index("r_elbow")


def test_a_scripted_skill_moves_the_elbow_and_succeeds(runtime, executor, humanoid):
    j = elbow(humanoid)
    executor.run(MoveJoint(humanoid, "r_elbow", 0.8, 1.0), timeout_s=3.0)
    runtime.run(3.0, executor.controller)  # 1 s of motion, then time for the drive to settle

    report = executor.report
    assert report.status == "succeeded"
    assert report.steps == pytest.approx(200, abs=2)
    assert report.ended_at == pytest.approx(1.0, abs=0.01)
    assert executor.history == [report]
    assert runtime.link.state().q[j] == pytest.approx(0.8, abs=0.05)
    # After success the executor holds the goal, so the watchdog never intervenes.
    rules = {e.rule for e in runtime.link.events()}
    assert not rules & {Rule.WATCHDOG_HOLD, Rule.WATCHDOG_DECELERATE, Rule.WATCHDOG_PROTECTIVE_STOP}
    assert runtime.outputs[-1].mode == SafetyMode.RUNNING


def sine_policy(description, period=0.005, horizon=50, latency=0.02, start=0.6):
    """A policy taking ``latency`` s of wall time per 0.25 s chunk of a smooth arm motion that
    starts ``start`` s in: the first chunk arrives only after a request's latency, and a motion
    already under way by then could not be joined without a jerk (on a loaded 2-core machine the
    first request's latency reaches a few hundred ms: the start leaves room for it)."""
    j, s = description.index("r_elbow"), description.index("r_shoulder_pitch")
    home = description.home
    mask = np.zeros(description.n_joints, dtype=bool)
    mask[description.group_indices("arm_right")] = True

    def trajectory(t):
        q = np.tile(home, (np.size(t), 1))
        wave = 1.0 - np.cos(np.pi * np.maximum(np.asarray(t) - start, 0.0))  # one cycle per 2 s
        q[:, j] += 0.2 * wave  # at most 2 rad/s², well inside what 200 Hz targets can ask for
        q[:, s] -= 0.1 * wave
        return q

    def fn(t, state):
        time.sleep(latency)
        return ActionChunk(t0=t, dt=period, q=trajectory(t + period * np.arange(horizon)), groups=mask)

    return fn, trajectory


def wall_paced(controller):
    """The controller, run no faster than the wall clock: lock-step simulates ~4x faster than real
    time, which would stretch a policy's 20 ms of wall time to ~80 ms of simulated time. Paced,
    latencies are what they would be on the robot (or shorter, on a machine slower than that)."""
    start = time.perf_counter()

    def step(t, link):
        ahead = t - (time.perf_counter() - start)
        # Behind the wall clock (a loaded machine), still yield the interpreter once a tick, as the
        # robot's executive does between ticks: else the policy's thread waits for the GIL.
        time.sleep(max(ahead, 0.0))
        controller(t, link)

    return step


def test_chunked_playback_never_starves_and_stays_smooth(runtime, executor, humanoid):
    fn, trajectory = sine_policy(humanoid)
    with ThreadedChunkSource(fn) as source:
        executor.run(PolicySkill(source, name="sine", groups=("arm_right",), duration_s=3.0), timeout_s=4.0)
        runtime.run(3.2, wall_paced(executor.controller))

    report = executor.report
    assert report.status == "succeeded"
    assert report.starvations == 0
    assert report.max_chunk_latency_s is not None and report.max_chunk_latency_s > 0
    # What was played is the policy's trajectory, not a hold.
    assert executor.last_command[elbow(humanoid)] == pytest.approx(trajectory(3.0)[0, elbow(humanoid)], abs=1e-3)
    # The run ends mid-motion (the hold after it brakes): judge the playback before that.
    events = [(e.t, Rule(e.rule).name, e.joint, e.value, e.limit) for e in runtime.link.events()]
    during = {rule for t, rule, *_ in events if t <= report.ended_at}
    assert not during & {"ACCELERATION_LIMIT", "VELOCITY_LIMIT"}, events
    # The driver got the policy's motion: it moved, and tracked the trajectory closely.
    t_driver = np.array([t for t, _, _ in runtime.received])
    q_driver = np.array([cmd.q for _, cmd, _ in runtime.received])[:, elbow(humanoid)]
    playing = (t_driver > 0.8) & (t_driver <= report.ended_at)
    assert np.ptp(q_driver[playing]) > 0.3
    assert np.abs(q_driver[playing] - trajectory(t_driver[playing])[:, elbow(humanoid)]).max() < 0.01


def test_a_queue_that_runs_dry_counts_starvation(runtime, humanoid):
    # A lead far shorter than the policy's latency in simulated time, and no chance to adapt
    # before the first chunk runs out: the executor must notice the gaps.
    fn, _ = sine_policy(humanoid, horizon=4, latency=0.03)
    executor = Executor(runtime.link, humanoid, lead_time=0.0)
    with ThreadedChunkSource(fn) as source:
        executor.run(PolicySkill(source, name="sine", groups=("arm_right",), duration_s=0.5), timeout_s=1.0)
        runtime.run(0.6, executor.controller)
    assert executor.report.status == "succeeded"
    assert executor.report.starvations > 0


def test_blending_sends_the_weighted_average_and_ramps_new_weights(runtime, executor, humanoid):
    j = elbow(humanoid)
    low = MoveJoint(humanoid, "r_elbow", 0.4, 1.0, name="low")
    high = MoveJoint(humanoid, "r_elbow", 1.2, 1.0, name="high")
    executor.run_blend([(low, 1.0), (high, 3.0)], timeout_s=3.0)  # normalised to 0.25 / 0.75
    runtime.run(0.5, executor.controller)

    sent = runtime.channels.trajectory.latest().q[0]
    expected = 0.25 * low.last + 0.75 * high.last
    np.testing.assert_allclose(sent, expected, atol=1e-12)
    assert sent[j] != pytest.approx(low.last[j]) and sent[j] != pytest.approx(high.last[j])

    sent_elbow = []

    def recording(t, link):
        executor.tick(t)
        sent_elbow.append(executor.last_command[j])

    executor.set_weights([1.0, 0.0])
    runtime.run(0.05, recording)  # halfway through the 0.1 s ramp: still mixed
    assert low.last[j] + 0.05 < sent_elbow[-1] < high.last[j] - 0.05
    runtime.run(0.1, recording)
    np.testing.assert_allclose(runtime.channels.trajectory.latest().q[0], low.last, atol=1e-12)
    # A 0.3 rad change of target spread over the ramp, never one step: at most 1.5x the
    # average rate of 0.3 rad / 20 ticks, plus the skills' own motion.
    assert np.abs(np.diff([sent[j], *sent_elbow])).max() < 1.5 * 0.3 / 20 + 0.01


def test_blending_refuses_different_action_spaces_and_bad_weights(executor, humanoid):
    right = MoveJoint(humanoid, "r_elbow", 0.8, 1.0, name="right")
    left = MoveJoint(humanoid, "l_elbow", 0.8, 1.0, name="left", groups=("arm_left",), swing_out=0.2)
    with pytest.raises(ValueError, match="same joint groups"):
        executor.run_blend([(right, 0.5), (left, 0.5)], timeout_s=1.0)
    other = MoveJoint(humanoid, "r_elbow", 0.5, 1.0, name="other")
    with pytest.raises(ValueError, match="non-negative"):
        executor.run_blend([(right, -0.5), (other, 1.5)], timeout_s=1.0)
    with pytest.raises(ValueError, match="all be zero"):
        executor.run_blend([(right, 0.0), (other, 0.0)], timeout_s=1.0)
    assert not executor.running


def test_cancel_mid_motion_stops_the_robot_without_a_protective_stop(runtime, executor, humanoid):
    j = elbow(humanoid)
    executor.run(MoveJoint(humanoid, "r_elbow", 1.75, 0.75, name="fast"), timeout_s=3.0)
    runtime.run(0.3, executor.controller)
    assert abs(runtime.link.state().dq[j]) > 1.0  # mid-motion, fast

    assert executor.cancel()
    assert executor.report.status == "cancelled"
    assert not executor.cancel()  # nothing left to cancel
    runtime.run(0.5, executor.controller)

    state = runtime.link.state()
    assert abs(state.dq[j]) < 0.05
    assert state.q[j] < 1.75 - 0.1  # stopped where it was, not carried on to the goal
    assert runtime.link.status().mode in (SafetyMode.RUNNING, SafetyMode.HOLD)
    rules = {e.rule for e in runtime.link.events()}
    assert Rule.WATCHDOG_PROTECTIVE_STOP not in rules and Rule.WATCHDOG_DECELERATE not in rules
    # Holding after the stop keeps it there.
    q_stopped = state.q[j]
    runtime.run(0.5, executor.controller)
    assert runtime.link.state().q[j] == pytest.approx(q_stopped, abs=0.01)
    assert executor.history[-1].status == "cancelled"


def test_a_skill_that_overruns_its_timeout_is_stopped(runtime, executor, humanoid):
    executor.run(Hold(), timeout_s=0.2)
    runtime.run(0.5, executor.controller)
    report = executor.report
    assert report.status == "timed_out"
    assert report.ended_at == pytest.approx(0.2, abs=0.006)
    assert report.failure and "0.2" in report.failure
    assert runtime.link.status().mode == SafetyMode.RUNNING  # still commanded: a hold


def test_a_failing_skill_reports_why(runtime, executor, humanoid):
    class Broken(Hold):
        name = "broken"

        def step(self, t, state):
            return SkillStep(failed="gripper lost the object") if t > 0.1 else super().step(t, state)

    executor.run(Broken(), timeout_s=1.0)
    runtime.run(0.3, executor.controller)
    assert executor.report.status == "failed"
    assert executor.report.failure == "broken: gripper lost the object"


def test_only_one_skill_runs_at_a_time(runtime, executor, humanoid):
    executor.run(Hold(), timeout_s=1.0)
    runtime.run(0.1, executor.controller)
    with pytest.raises(ExecutorBusyError, match="'hold' is still running"):
        executor.run(MoveJoint(humanoid, "r_elbow", 0.8, 1.0), timeout_s=1.0)
    executor.cancel()
    executor.run(MoveJoint(humanoid, "r_elbow", 0.8, 1.0), timeout_s=2.0)  # fine once it ended
    assert executor.running


def test_an_idle_executor_keeps_the_watchdog_quiet(runtime, executor):
    runtime.run(1.0, executor.controller)
    assert runtime.link.status().mode == SafetyMode.RUNNING
    assert not runtime.link.events()


# ---- the chunk queue on its own ----


def test_queue_interpolates_holds_past_the_end_and_reports_what_is_left():
    queue = ChunkQueue(np.zeros(2), crossfade=0.0)
    assert queue.remaining(0.0) == 0.0
    queue.push(ActionChunk(t0=1.0, dt=0.1, q=np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]])))
    np.testing.assert_allclose(queue.target(1.05), [0.5, 1.0])
    assert queue.remaining(1.05) == pytest.approx(0.15)
    np.testing.assert_allclose(queue.target(5.0), [2.0, 4.0])
    assert queue.remaining(5.0) == 0.0


def test_a_newer_chunk_takes_over_without_a_jump():
    queue = ChunkQueue(np.zeros(1), crossfade=0.05)
    queue.push(ActionChunk(t0=0.0, dt=0.01, q=np.zeros((100, 1))))
    queue.push(ActionChunk(t0=0.2, dt=0.01, q=np.ones((100, 1))), now=0.3)  # arrived late
    ts = np.arange(0.0, 0.6, 0.001)
    q = np.array([queue.target(t)[0] for t in ts])
    assert q[ts < 0.3].max() == 0.0  # the late chunk does not rewrite the past
    assert np.abs(np.diff(q)).max() < 0.05  # 1 rad spread over 50 ms, not one step
    assert q[-1] == 1.0


def test_a_masked_chunk_leaves_the_other_joints_to_what_came_before():
    queue = ChunkQueue(np.array([5.0, 6.0]), crossfade=0.0)
    queue.push(ActionChunk(t0=0.0, dt=0.1, q=np.array([[1.0, 1.0], [1.0, 1.0]])))
    queue.push(ActionChunk(t0=0.5, dt=0.1, q=np.array([[9.0, 9.0]]), groups=np.array([False, True])))
    np.testing.assert_allclose(queue.target(1.0), [1.0, 9.0])
    np.testing.assert_allclose(queue.target(2.0), [1.0, 9.0])


def test_chunks_refuse_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        ActionChunk(t0=0.0, dt=0.01, q=np.zeros(3))
    with pytest.raises(ValueError, match="non-finite"):
        ActionChunk(t0=0.0, dt=0.01, q=np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="dt"):
        ActionChunk(t0=0.0, dt=0.0, q=np.zeros((2, 3)))
