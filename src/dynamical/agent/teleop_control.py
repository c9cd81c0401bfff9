"""Teleoperation on a robot agent: a session takes the robot the way a plan does.

A session holds the agent's plan slot (its ``_busy`` lock) from start to stop: a plan sent
meanwhile is refused (``AgentBusyError``), and a session cannot start while a plan runs. The
session's skill runs in the agent's executor under the agent's lock, so its commands take the
same path as a plan's (executive link → safety kernel → driver). A cancel, an e-stop or a
latched protective stop ends the skill; the watcher then ends the session and frees the slot.

Works with both agents (lock-step and realtime): both keep ``runner`` (its executor), ``_lock``
and ``_busy``, and the realtime agent has ``runner`` only once started.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from dynamical.agent.errors import AgentBusyError, AgentNotStartedError
from dynamical.agent.reports import refusal
from dynamical.skills.executor import ExecutionReport
from dynamical.teleop.inputs import TeleopConfig, TeleopInput
from dynamical.teleop.session import TeleopSession, TeleopSkill, TeleopStatus

WATCH_PERIOD_S = 0.02
"""How often the watcher checks that the session's skill still runs (after an e-stop, the plan
slot is free again within this)."""


class TeleopNotActiveError(RuntimeError):
    """An input or stop for a robot that is not teleoperated now."""


class TeleopController:
    """At most one teleop session at a time on one agent."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self._lock = threading.Lock()
        self.session: TeleopSession | None = None
        self._skill: TeleopSkill | None = None
        self._watcher: threading.Thread | None = None
        self._done = threading.Event()
        self.last: TeleopStatus | None = None
        """The status of the last session, once it ended."""

    def start(self, operator: str | None = None, config: TeleopConfig | None = None) -> TeleopStatus:
        """Take the robot for ``operator``; AgentBusyError while a plan or another session runs,
        RuntimeError while the kernel holds a stop that needs a reset."""
        with self._lock:
            if self.session is not None:
                who = self.session.operator or "another operator"
                raise AgentBusyError(f"robot {self.agent.robot_id} is already teleoperated by {who}")
            runner = getattr(self.agent, "runner", None)
            if runner is None:
                raise AgentNotStartedError(f"robot {self.agent.robot_id}'s agent is not started")
            state = self.agent.state()
            if state.safety is not None and (why := refusal(state.safety)) is not None:
                raise RuntimeError(f"teleop refused: {why}")
            if not self.agent._busy.acquire(blocking=False):
                raise AgentBusyError(f"robot {self.agent.robot_id} is running a plan; teleop starts when it ends")
            try:
                session = TeleopSession(self.agent.description, config, operator)
                with self.agent._lock:
                    skill = TeleopSkill(session, self.agent.runner.executor.control_period)
                    self.agent.runner.executor.run(skill, session.config.max_duration_s)
            except BaseException:
                self.agent._busy.release()
                raise
            self.session, self._skill = session, skill
            self._done.clear()
            self._watcher = threading.Thread(
                target=self._watch, name=f"{self.agent.robot_id}-teleop-watch", daemon=True
            )
            self._watcher.start()
            return session.status()

    def submit(self, command: TeleopInput, received_at: float | None = None) -> bool:
        """One operator input; ``received_at`` (time.monotonic s) when it arrived, if earlier."""
        session = self.session
        if session is None:
            raise TeleopNotActiveError(f"robot {self.agent.robot_id} is not teleoperated")
        return session.submit(command, received_at)

    def stop(self, why: str = "stopped by the operator") -> TeleopStatus:
        """End the session: the robot brakes to a hold and takes plans again."""
        with self._lock:
            if self.session is None:
                raise TeleopNotActiveError(f"robot {self.agent.robot_id} is not teleoperated")
            with self.agent._lock:
                self.agent.runner.executor.cancel()
            return self._end(why)

    def status(self) -> TeleopStatus | None:
        """The running session's status, else the last one's (None before any)."""
        session = self.session
        return session.status() if session is not None else self.last

    def _end(self, why: str) -> TeleopStatus:
        session = self.session
        assert session is not None
        session.ended = why
        self.last = session.status()
        self.session, self._skill = None, None
        self._done.set()
        self.agent._busy.release()
        return self.last

    def _watch(self) -> None:
        """End the session when its skill stopped without us (e-stop, protective stop, timeout)."""
        while not self._done.wait(WATCH_PERIOD_S):
            with self._lock:
                if self.session is None:
                    return
                runner = getattr(self.agent, "runner", None)
                try:
                    report = runner.executor.report if runner is not None else None
                except Exception:  # the agent stopped under us (its channels are closed)
                    self._end("the robot's agent stopped")
                    return
                ours = report is not None and report.skill == TeleopSkill.name
                if ours and runner is not None and runner.executor.running:
                    continue
                why = "the teleop skill ended"
                if report is not None and report.skill == TeleopSkill.name:
                    why = {
                        "cancelled": "cancelled (an e-stop or a cancel)",
                        "timed_out": "the session reached its maximum duration",
                        "succeeded": "the session reached its maximum duration",
                    }.get(report.status, f"stopped: {report.failure or report.status}")
                self._end(why)
                return


_controllers: weakref.WeakKeyDictionary[Any, TeleopController] = weakref.WeakKeyDictionary()
_controllers_lock = threading.Lock()


def teleop_of(agent: Any) -> TeleopController:
    """The one teleop controller of ``agent`` (made on first use)."""
    with _controllers_lock:
        controller = _controllers.get(agent)
        if controller is None:
            controller = _controllers[agent] = TeleopController(agent)
        return controller


def play_motion(agent: Any, skill: Any, timeout_s: float) -> ExecutionReport:
    """Play ``skill`` (a retargeted motion) on ``agent`` through its executor and kernel, holding
    the plan slot while it plays; the executor's report of the run (status, interventions)."""
    if not agent._busy.acquire(blocking=False):
        raise AgentBusyError(f"robot {agent.robot_id} is running a plan or a teleop session")
    try:
        with agent._lock:
            agent.runner.executor.run(skill, timeout_s)
        deadline = time.monotonic() + 10.0 * timeout_s + 30.0  # simulated time may run slower
        while True:
            with agent._lock:
                if not agent.runner.executor.running:
                    report = agent.runner.executor.report
                    break
            if time.monotonic() > deadline:
                with agent._lock:
                    agent.runner.executor.cancel()
                raise TimeoutError(f"the motion did not end within {timeout_s:g} s of robot time")
            time.sleep(0.02)
    finally:
        agent._busy.release()
    assert report is not None
    return report
