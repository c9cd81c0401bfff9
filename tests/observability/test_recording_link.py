"""Through a real server and the agent link protocol: an execution's states, events and progress
are recorded, its trace opens into the phase that failed, its analysis names the zone the robot
reported, /metrics counts it, and the ledger holds the link's lines."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dynamical.agent.messages import PlanResult, SafetyEvents, SafetyEventWire, StateReport, StepProgressReport
from dynamical.agent.plan_runner import PlanOutcome, StepProgress
from dynamical.agent.reports import ObjectPose, RobotStateReport
from dynamical.api.settings import ApiSettings
from dynamical.observability.ledger import read_entries
from dynamical.observability.recording import load_recording
from dynamical.safety.rules import Rule
from dynamical.skills.runner import PhaseSummary, SkillOutcome, TrajectorySummary
from tests.api.conftest import api_settings, backend, templates  # noqa: F401 (fixtures)
from tests.link.harness import LiveServer, live_server, next_plan, raw_robot, wait_for

ROBOT = "thor_001"
WAVE = {"mode": "direct", "skill_ids": ["wave"], "wait": False}
PHASES = [
    PhaseSummary(name="raise the arm", duration_s=0.4, hands={"right": [0.3, -0.3, 1.2]}),
    PhaseSummary(name="wave", duration_s=1.0, hands={"right": [0.3, -0.3, 1.3]}),
    PhaseSummary(name="lower the arm", duration_s=0.6, hands={"right": [0.1, -0.2, 0.6]}),
]
FAILURE = "postcondition arm_at_rest(side=right) does not hold"


@pytest.fixture
def server(api_settings: ApiSettings) -> Iterator[LiveServer]:  # noqa: F811
    with live_server(api_settings) as live:
        yield live


def _state(t: float) -> StateReport:
    return StateReport(
        state=RobotStateReport(
            robot_id=ROBOT,
            t=t,
            joint_names=["a", "b", "c"],
            q=[0.1 * t, 0.2, -0.3],
            dq=[0.1, 0.0, 0.0],
            safety=None,
            timing={},
            objects=[ObjectPose(name="red_cube", pos=[0.4, -0.12, 0.775], quat=[1.0, 0.0, 0.0, 0.0])],
            busy=True,
        )
    )


def _progress(status: str, planned: bool = False, outcome: SkillOutcome | None = None) -> StepProgress:
    summary = None
    if planned:
        summary = TrajectorySummary(
            groups=["arm_right"], duration_s=2.0, joint_travel_rad=1.0, peak_joint_speed_rad_s=0.5,
            hand_path_m={"right": 0.9}, phases=PHASES,
        )  # fmt: skip
    return StepProgress(
        step_id="s1", skill_id="wave", index=0, total=1, status=status, planned=summary, outcome=outcome
    )


@pytest.mark.slow
def test_an_execution_is_recorded_traced_into_phases_analysed_and_counted(server: LiveServer) -> None:
    with raw_robot(server, ROBOT) as robot, server.http("operate") as http:
        accepted = http.post("/api/v1/robot/invoke_skill", json=WAVE | {"robot_id": ROBOT})
        assert accepted.status_code == 202, accepted.text
        request_id = next_plan(robot).request_id
        robot.send(_state(10.0))
        wait_for(lambda: server.app.state.agent_hub.connections[ROBOT].state is not None, "the first state")
        now = time.time()
        robot.send(StepProgressReport(request_id=request_id, progress=_progress("running"), t_wall=now))
        robot.send(StepProgressReport(request_id=request_id, progress=_progress("running", True), t_wall=now + 0.1))
        for k in range(1, 6):
            robot.send(_state(10.0 + 0.1 * k))
        zone_event = SafetyEventWire(
            seq=1, t=10.3, tick=10300, rule=int(Rule.KEEP_OUT_ZONE), joint=-1, value=-0.01, limit=0.0,
            request_id=request_id, zone="shelf_keepout", point="r_palm",
        )  # fmt: skip
        robot.send(SafetyEvents(events=[zone_event]))
        outcome = SkillOutcome(skill="wave", params={"side": "right"}, success=False, failure=FAILURE,
                               cause="postcondition", duration_s=0.9, planned_s=2.0, interventions=1)  # fmt: skip
        recorder = server.app.state.recorder
        wait_for(lambda: ROBOT in recorder.open and len(recorder.open[ROBOT].events) == 1, "the zone event recorded")
        robot.send(
            StepProgressReport(request_id=request_id, progress=_progress("failed", outcome=outcome), t_wall=now + 0.7)
        )
        result = PlanOutcome(plan_id="p", success=False, steps=[outcome], failed_step="s1", failure=FAILURE,
                             duration_s=0.9, interventions=1, hard_limit_holds=0, driver_violations=0)  # fmt: skip
        robot.send(PlanResult(request_id=request_id, outcome=result))
        wait_for(lambda: load_recording(server.settings.data_dir, request_id) is not None, "the recording")

        recording = load_recording(server.settings.data_dir, request_id)
        assert recording is not None and recording.joint_names == ["a", "b", "c"]
        assert len(recording.samples) >= 5 and recording.samples[-1].objects["red_cube"][:3] == [0.4, -0.12, 0.775]
        assert [(s.status, bool(s.phases)) for s in recording.steps] == [
            ("running", False), ("running", True), ("failed", False),
        ]  # fmt: skip
        assert (recording.events[0].zone, recording.events[0].point) == ("shelf_keepout", "r_palm")

        trace = http.get(f"/api/v1/traces/{request_id}").json()
        phases = [s for s in trace["spans"] if s["name"].startswith("phase ")]
        assert [s["name"] for s in phases] == ["phase raise the arm", "phase wave"]
        assert phases[-1]["status_code"] == "ERROR" and FAILURE in phases[-1]["status_message"]
        step = next(s for s in trace["spans"] if s["name"] == "step s1 wave")
        assert all(p["parent_span_id"] == step["span_id"] for p in phases)

        analysis = http.get(f"/api/v1/robot/executions/{request_id}/analysis").json()
        top = analysis["causes"][0]
        assert top["cause"] == "keep_out_zone", analysis
        assert "keep-out zone 'shelf_keepout' stopped the r_palm" in top["explanation"]
        assert "postcondition" in [c["cause"] for c in analysis["causes"]]

        text = http.get("/metrics").text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        assert samples[("dynamical_steps_total", (("outcome", "failed"), ("skill", "wave")))] == 1.0
        assert samples[("dynamical_executions_finished_total", (("status", "failed"),))] == 1.0
        assert samples[("dynamical_robot_link_up", (("robot", ROBOT),))] == 1.0
        wait_for(
            lambda: samples_of(http, "dynamical_safety_events_total", ROBOT, "KEEP_OUT_ZONE") == 1.0,
            "the stored zone event counted",
        )

    ledger = server.settings.data_dir / "audit" / "ledger.jsonl"
    links = [e for e in read_entries(ledger, limit=10_000) if e["kind"] == "link"]
    assert any(f"/ws/agent {ROBOT} connected" in e["subject"] for e in links)


def samples_of(http, name: str, robot: str, rule: str) -> float | None:
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for s in family.samples:
            if s.name == name and s.labels == {"robot": robot, "rule": rule}:
                return s.value
    return None
