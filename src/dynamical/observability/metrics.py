"""Prometheus metrics of a platform server (``prometheus_client``), one registry per server.

Two kinds of sources: counters and histograms fed as things happen (safety events stored,
executions finished, plans made), and gauges read at scrape time from what the robots report
now (link state, tier rates, late ticks, work time, safety mode). Names follow Prometheus's
conventions: base units (seconds), ``_total`` counters. ``docs/grafana/dashboard.json`` plots them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel

from dynamical.observability.fl_metrics import FederatedLedgerCollector

SAFETY_MODES = ("RUNNING", "HOLD", "BRAKING", "PROTECTIVE_STOP", "ESTOP")
PLANNING_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# No ``_created`` series: they double every counter's lines (and the scrape's cost) for a
# timestamp Prometheus's text format does not use.
disable_created_metrics()


class RobotSample(BaseModel):
    """What a robot's link says now, for the scrape."""

    robot_id: str
    connected: bool
    state_age_s: float | None
    """s since its last state report (None: none yet)."""
    busy: bool = False
    safety_mode: str | None = None
    interventions: int | None = None
    timing: dict[str, dict[str, Any]] = {}
    """Per tier: ``runtime.timing.TimingSnapshot`` as a dict."""


class ServerMetrics:
    """The registry of one server, with the instruments its hooks feed."""

    def __init__(
        self,
        robots: Callable[[], Sequence[RobotSample]],
        executions: Callable[[], dict[str, int]],
        ledger: Path | None = None,
    ) -> None:
        """``ledger``: the audit ledger whose federated-learning entries are counted (None: none)."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.safety_events = Counter(
            "dynamical_safety_events",
            "Safety kernel events stored, by robot and rule",
            ["robot", "rule"],
            registry=self.registry,
        )
        self.executions_finished = Counter(
            "dynamical_executions_finished",
            "Executions that ended on this server, by status",
            ["status"],
            registry=self.registry,
        )
        self.steps = Counter(
            "dynamical_steps",
            "Plan steps that ended, by skill and outcome",
            ["skill", "outcome"],
            registry=self.registry,
        )
        self.planning = Histogram(
            "dynamical_planning_seconds",
            "Request in to plan handed to the agent",
            buckets=PLANNING_BUCKETS_S,
            registry=self.registry,
        )
        self.audit_entries = Counter(
            "dynamical_audit_entries", "Entries appended to the audit ledger, by kind", ["kind"], registry=self.registry
        )
        self.registry.register(_FleetCollector(robots, executions))
        if ledger is not None:
            self.registry.register(FederatedLedgerCollector(ledger))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def step_ended(self, skill: str, success: bool) -> None:
        self.steps.labels(skill=skill, outcome="succeeded" if success else "failed").inc()


class _FleetCollector(Collector):
    """Gauges read from the robots' links and the database at scrape time."""

    def __init__(self, robots: Callable[[], Sequence[RobotSample]], executions: Callable[[], dict[str, int]]) -> None:
        self._robots = robots
        self._executions = executions

    def describe(self) -> Iterable[Metric]:
        return []  # read at scrape time: nothing to describe ahead

    def collect(self) -> Iterable[Metric]:
        robots = self._robots()
        connected = GaugeMetricFamily("dynamical_robot_link_up", "1 while its agent link is up", labels=["robot"])
        age = GaugeMetricFamily("dynamical_robot_state_age_seconds", "Age of the last state report", labels=["robot"])
        busy = GaugeMetricFamily("dynamical_robot_busy", "1 while the robot runs a plan", labels=["robot"])
        mode = GaugeMetricFamily(
            "dynamical_robot_safety_mode", "1 for the safety kernel's current mode", labels=["robot", "mode"]
        )
        interventions = GaugeMetricFamily(
            "dynamical_robot_interventions", "Kernel interventions since the robot started", labels=["robot"]
        )
        rate = GaugeMetricFamily("dynamical_tier_rate_hz", "Ticks per second achieved", labels=["robot", "tier"])
        period = GaugeMetricFamily("dynamical_tier_period_seconds", "Nominal period", labels=["robot", "tier"])
        late = GaugeMetricFamily("dynamical_tier_late_ticks", "Ticks started late (lifetime)", labels=["robot", "tier"])
        ticks = GaugeMetricFamily("dynamical_tier_ticks", "Ticks run (lifetime)", labels=["robot", "tier"])
        overruns = GaugeMetricFamily("dynamical_tier_overruns", "Ticks past their period", labels=["robot", "tier"])
        work = GaugeMetricFamily(
            "dynamical_tier_work_seconds", "Work time per tick by quantile", labels=["robot", "tier", "quantile"]
        )
        for robot in robots:
            connected.add_metric([robot.robot_id], 1.0 if robot.connected else 0.0)
            if robot.state_age_s is not None:
                age.add_metric([robot.robot_id], robot.state_age_s)
            busy.add_metric([robot.robot_id], 1.0 if robot.busy else 0.0)
            if robot.safety_mode is not None:
                for name in SAFETY_MODES:
                    mode.add_metric([robot.robot_id, name], 1.0 if robot.safety_mode == name else 0.0)
            if robot.interventions is not None:
                interventions.add_metric([robot.robot_id], float(robot.interventions))
            for tier, stats in robot.timing.items():
                labels = [robot.robot_id, tier]
                _add(rate, labels, stats.get("rate_hz"))
                _add(period, labels, stats.get("period_s"))
                _add(late, labels, stats.get("late_ticks"))
                _add(ticks, labels, stats.get("ticks"))
                _add(overruns, labels, stats.get("overruns"))
                for quantile, value in (stats.get("work_us") or {}).items():
                    q = {"p50": "0.5", "p99": "0.99", "max": "1"}.get(quantile)
                    if q is not None and value is not None:
                        _add(work, [*labels, q], value / 1e6)
        executions = GaugeMetricFamily(
            "dynamical_executions", "Executions in the database by status", labels=["status"]
        )
        for status, count in sorted(self._executions().items()):
            executions.add_metric([status], float(count))
        yield from (connected, age, busy, mode, interventions, rate, period, late, ticks, overruns, work, executions)


def _add(family: GaugeMetricFamily, labels: list[str], value: Any) -> None:
    if isinstance(value, int | float) and math.isfinite(value):
        family.add_metric(labels, float(value))
