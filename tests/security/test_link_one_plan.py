"""Issue 18, finding 8: two plans could reach one robot at once.

The race: concurrent ``wait=false`` invokes all passed the busy check (which ran before the
awaits) and were claimed only after planning. Here the planner holds the first request until every
request has been answered, so the old code lets all of them into planning, deterministically; now
the robot is claimed with the busy check, exactly one plan reaches it and the others get 409, and
every way out of a request (a result, a plan that cannot be made) frees the robot again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from dynamical.agent.messages import ExecutePlan, PlanResult
from dynamical.api.settings import ApiSettings
from tests.api.conftest import api_settings, backend, templates  # noqa: F401 (fixtures)
from tests.link.harness import WAIT_S, LiveServer, live_server, next_plan, raw_robot

ROBOT = "thor_001"
REQUESTS = 8
WAVE = {"mode": "direct", "skill_ids": ["wave"], "wait": False, "robot_id": ROBOT}


@pytest.fixture
def server(api_settings: ApiSettings) -> Iterator[LiveServer]:  # noqa: F811
    with live_server(api_settings) as live:
        yield live


class HeldPlanner:
    """Wraps the server's planner: the first call waits until ``release`` is set (or WAIT_S), so
    every concurrent request reaches the server while one is still planning."""

    def __init__(self, server: LiveServer) -> None:
        self.planner = server.app.state.invoker.planner
        self.plan = self.planner.plan
        self.entered = 0
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.planner.plan = self

    def __call__(self, *args: object) -> object:
        with self.lock:
            self.entered += 1
        self.release.wait(WAIT_S)
        return self.plan(*args)

    def restore(self) -> None:
        self.planner.plan = self.plan


async def _invoke_all(server: LiveServer, held: HeldPlanner) -> list[httpx.Response]:
    headers = {"X-API-Key": server.keys["operate"]}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=WAIT_S) as http:
        tasks = [asyncio.create_task(http.post("/api/v1/robot/invoke_skill", json=WAVE)) for _ in range(REQUESTS)]
        # The others are answered while the first is still planning (or, before the fix, all of
        # them are planning at once); then the planner lets go.
        deadline = time.monotonic() + WAIT_S
        while sum(t.done() for t in tasks) < REQUESTS - 1 and held.entered < REQUESTS:
            assert time.monotonic() < deadline, "the requests were not answered"
            await asyncio.wait(tasks, timeout=0.05)
        held.release.set()
        return list(await asyncio.gather(*tasks))


def test_concurrent_invokes_run_exactly_one_plan(server: LiveServer) -> None:
    with raw_robot(server, ROBOT) as robot:
        held = HeldPlanner(server)
        try:
            answers = asyncio.run(_invoke_all(server, held))
        finally:
            held.restore()
        codes = sorted(a.status_code for a in answers)
        assert codes == [202] + [409] * (REQUESTS - 1), [a.text for a in answers]
        assert held.entered == 1, "only the request that holds the robot plans"
        (accepted,) = [a.json() for a in answers if a.status_code == 202]
        assert all("is running execution" in a.json()["detail"] for a in answers if a.status_code == 409)
        plan = next_plan(robot)
        assert plan.request_id == accepted["request_id"]
        with pytest.raises(TimeoutError):
            robot.receive_until(ExecutePlan, timeout=1.0)  # no second plan reached the robot

        with server.http("operate") as http:
            # Busy until its result: then free again.
            assert http.post("/api/v1/robot/invoke_skill", json=WAVE).status_code == 409
            robot.send(PlanResult(request_id=plan.request_id, error="stopped by the test"))
            answer = _when_free(http)
            assert answer.status_code == 202, answer.text
            robot.send(PlanResult(request_id=next_plan(robot).request_id, error="stopped by the test"))
            # A request that cannot become a plan frees the robot too.
            unknown = http.post("/api/v1/robot/invoke_skill", json=WAVE | {"skill_ids": ["no_such_skill"]})
            assert unknown.status_code == 422, unknown.text
            assert _when_free(http).status_code == 202


def _when_free(http: httpx.Client) -> httpx.Response:
    """The next invoke once the robot's last result is in (a result crosses the link asynchronously)."""
    for _ in range(int(WAIT_S / 0.05)):
        answer = http.post("/api/v1/robot/invoke_skill", json=WAVE)
        if answer.status_code != 409:
            return answer
        time.sleep(0.05)
    return answer
