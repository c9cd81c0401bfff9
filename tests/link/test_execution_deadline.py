"""Every execution has its deadline, waited for or not: a ``wait=false`` invoke whose plan runs
past its ``timeout_s`` is cancelled on the robot by the server, and its row says it timed out.

Before: only a waiting request enforced ``timeout_s``; an execution started with ``wait=false``
(the dashboard's, the soak's) ran as long as the robot took (a grasp planned for four minutes on a
loaded machine), and the robot was busy all that time. Here the robot is a raw link that holds the
plan until it is cancelled, so the deadline is what ends it, deterministically."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dynamical.agent.messages import Cancel, CommandResult, PlanResult
from dynamical.api.settings import ApiSettings
from tests.api.conftest import api_settings, backend, templates  # noqa: F401 (fixtures)
from tests.link.harness import LiveServer, live_server, next_plan, raw_robot, wait_for

ROBOT = "thor_001"


@pytest.fixture
def server(api_settings: ApiSettings) -> Iterator[LiveServer]:  # noqa: F811
    with live_server(api_settings) as live:
        yield live


def _invoke(server: LiveServer, timeout_s: float) -> str:
    body = {"mode": "direct", "skill_ids": ["wave"], "wait": False, "robot_id": ROBOT, "timeout_s": timeout_s}
    with server.http("operate") as http:
        answer = http.post("/api/v1/robot/invoke_skill", json=body)
    assert answer.status_code == 202, answer.text
    return answer.json()["request_id"]


def test_an_unwaited_execution_past_its_timeout_is_cancelled_on_the_robot(server: LiveServer) -> None:
    with raw_robot(server, ROBOT) as robot:
        request_id = _invoke(server, timeout_s=1.0)
        assert next_plan(robot).request_id == request_id
        cancel = robot.receive_until(Cancel)  # the robot never answered: the server's deadline did
        assert cancel.request_id == request_id
        robot.send(CommandResult(command_id=cancel.command_id, ok=True, detail="cancelled"))
        robot.send(PlanResult(request_id=request_id, error="the plan was cancelled", cancelled=True))
        row = wait_for(lambda: (r := server.execution(request_id)).status != "running" and r, "the row to end")
        assert row.status == "cancelled"
        assert row.error.startswith("timed out after 1 s; the plan was cancelled"), row.error
        with server.http("operate") as http:  # the robot is free again
            again = http.post(
                "/api/v1/robot/invoke_skill",
                json={"mode": "direct", "skill_ids": ["wave"], "wait": False, "robot_id": ROBOT},
            )
        assert again.status_code == 202, again.text


def test_an_execution_that_ends_in_time_is_never_cancelled(server: LiveServer) -> None:
    with raw_robot(server, ROBOT) as robot:
        request_id = _invoke(server, timeout_s=2.0)
        assert next_plan(robot).request_id == request_id
        robot.send(PlanResult(request_id=request_id, error="refused: precondition"))
        wait_for(lambda: server.execution(request_id).status == "failed", "the row to end")
        with pytest.raises(TimeoutError):
            robot.receive_until(Cancel, timeout=3.0)  # past the 2 s: no cancel for a finished plan
        assert server.execution(request_id).error == "refused: precondition"
