"""Issue 18, finding 2: forged results.

The attack: a link for one robot sent ``plan_result`` and ``step_progress`` with another robot's
``request_id``, and the server overwrote a finished execution with ``status: cancelled, error:
"FORGED…"``. Now progress, results and events of an execution are taken only from the link of the
robot that runs it, and a finished execution's row is never written again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dynamical.agent.messages import LinkError, PlanResult, SafetyEvents, SafetyEventWire, StepProgressReport
from dynamical.agent.plan_runner import PlanOutcome, StepProgress
from dynamical.api.models import SafetyEvent
from dynamical.api.settings import ApiSettings
from tests.api.conftest import api_settings, backend, templates  # noqa: F401 (fixtures)
from tests.link.harness import LiveServer, live_server, next_plan, raw_robot, wait_for

VICTIM, ROGUE = "thor_001", "rogue_002"
WAVE = {"mode": "direct", "skill_ids": ["wave"], "wait": False}


@pytest.fixture
def server(api_settings: ApiSettings) -> Iterator[LiveServer]:  # noqa: F811
    with live_server(api_settings) as live:
        yield live


def _outcome(success: bool, failure: str | None = None) -> PlanOutcome:
    return PlanOutcome(
        plan_id="p",
        success=success,
        steps=[],
        failure=failure,
        duration_s=1.0,
        interventions=0,
        hard_limit_holds=0,
        driver_violations=0,
    )


def _progress(status: str) -> StepProgress:
    return StepProgress(step_id="s1", skill_id="wave", index=0, total=1, status=status)


def test_a_forged_result_for_another_robots_execution_is_ignored(server: LiveServer) -> None:
    with raw_robot(server, VICTIM) as victim, raw_robot(server, ROGUE) as rogue, server.http("operate") as http:
        accepted = http.post("/api/v1/robot/invoke_skill", json=WAVE | {"robot_id": VICTIM})
        assert accepted.status_code == 202, accepted.text
        request_id = next_plan(victim).request_id
        assert request_id == accepted.json()["request_id"]

        # The rogue robot (its own credential, its own link) reports on the victim's execution.
        rogue.send(StepProgressReport(request_id=request_id, progress=_progress("failed"), t_wall=time.time()))
        refused = rogue.receive_until(LinkError)
        assert refused.about == "step_progress" and "is not run by robot 'rogue_002'" in refused.detail
        rogue.send(PlanResult(request_id=request_id, error="FORGED: the plan failed", cancelled=True))
        refused = rogue.receive_until(LinkError)
        assert refused.about == "plan_result"
        # Its events may not claim the victim's execution either: they are its own, unlinked.
        event = SafetyEventWire(seq=1, t=1.0, tick=1000, rule=1, request_id=request_id)
        rogue.send(SafetyEvents(events=[event]))

        execution = http.get(f"/api/v1/robot/executions/{request_id}").json()
        assert execution["status"] == "running" and execution["error"] is None
        assert execution["progress"] == []

        # The victim's own result is the one that counts.
        victim.send(PlanResult(request_id=request_id, outcome=_outcome(True)))
        done = wait_for(
            lambda: (e := http.get(f"/api/v1/robot/executions/{request_id}").json())["status"] != "running" and e,
            "the victim's result",
        )
        assert done["status"] == "succeeded" and done["error"] is None

        def stored() -> list[SafetyEvent]:
            with server.db.session() as session:
                return list(session.query(SafetyEvent).filter(SafetyEvent.robot_id == ROGUE))

        (rogue_event,) = wait_for(stored, "the rogue's event to be stored")
        assert rogue_event.request_id is None
    audit = [(a.path, a.status_code, a.actor) for a in server.audit() if "ignored" in a.path]
    assert [(p.split(":")[0], c, actor) for p, c, actor in audit] == [
        (f"/ws/agent {ROGUE} ignored step_progress", 403, f"robot:{ROGUE}"),
        (f"/ws/agent {ROGUE} ignored plan_result", 403, f"robot:{ROGUE}"),
    ]
    assert all(request_id in p for p, _, _ in audit)


def test_a_finished_execution_is_unchanged_by_a_late_result(server: LiveServer) -> None:
    with raw_robot(server, VICTIM) as robot, server.http("operate") as http:
        request_id = http.post("/api/v1/robot/invoke_skill", json=WAVE).json()["request_id"]
        assert next_plan(robot).request_id == request_id
        robot.send(PlanResult(request_id=request_id, outcome=_outcome(True)))
        finished = wait_for(
            lambda: (e := http.get(f"/api/v1/robot/executions/{request_id}").json())["status"] == "succeeded" and e,
            "the result",
        )
        # The same robot, later (a replayed or buggy agent): the row stays as it was.
        robot.send(PlanResult(request_id=request_id, outcome=_outcome(False, "FORGED"), cancelled=True))
        robot.send(StepProgressReport(request_id=request_id, progress=_progress("failed"), t_wall=time.time()))
        wait_for(lambda: any("ignored plan_result" in a.path for a in server.audit()), "the late result's audit line")
        assert http.get(f"/api/v1/robot/executions/{request_id}").json() == finished
    row = server.execution(request_id)
    assert (row.status, row.error) == ("succeeded", None)
    (line,) = [a for a in server.audit() if "ignored plan_result" in a.path]
    assert line.status_code == 409 and "finished" in line.path


def test_a_result_for_an_execution_nobody_ran_is_ignored(server: LiveServer) -> None:
    with raw_robot(server, ROGUE) as rogue:
        rogue.send(PlanResult(request_id="0123abcd-0000-0000-0000-000000000000", outcome=_outcome(True)))
        assert rogue.receive_until(LinkError).about == "plan_result"
    with server.http("read") as http:
        assert http.get("/api/v1/robot/executions/0123abcd-0000-0000-0000-000000000000").status_code == 404
