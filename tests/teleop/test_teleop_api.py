"""Teleop through the API, end to end: the platform server in this process, the robot's own
lock-step agent behind the agent link; one operator at a time, inputs move the hand, bad input is
refused with a message, and the deadman holds when inputs stop."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import pytest

from dynamical.api.settings import ApiSettings
from tests.api.conftest import api_settings, templates  # noqa: F401 (fixtures)
from tests.link.harness import LiveServer, live_server, real_agent, wait_for

ROBOT = "teleop_001"
BASE = f"/api/v1/robots/{ROBOT}/teleop"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # teleop touches no database table; one backend is enough


@pytest.fixture
def server(api_settings: ApiSettings) -> Iterator[LiveServer]:  # noqa: F811
    with live_server(api_settings) as live:
        yield live


@pytest.mark.slow
def test_one_operator_drives_the_hand_through_the_api(server: LiveServer) -> None:
    with real_agent(server, ROBOT) as client, server.http("operate") as op, server.http("admin") as admin:
        robot = client.agent
        # Bad input first: a clear 4xx, nothing reaches the robot.
        assert op.post(f"{BASE}/input", json={"deadman": True}).status_code == 409  # no session yet
        assert op.post("/api/v1/robots/nobody/teleop/start").status_code == 404
        with server.http("read") as reader:
            assert reader.post(f"{BASE}/start").status_code == 403

        started = op.post(f"{BASE}/start", json={"config": {"deadman_s": 1.0}})
        assert started.status_code == 200, started.text
        assert started.json()["operator"] == "test operate" and started.json()["status"]["active"]
        refused = admin.post(f"{BASE}/start")
        assert refused.status_code == 409 and "teleoperated by test operate" in refused.json()["detail"]
        assert admin.post(f"{BASE}/input", json={"deadman": True}).status_code == 409  # not the holder

        as_json = {"Content-Type": "application/json"}
        nan = '{"deadman": true, "hands": {"right": {"pos": [NaN, 0, 0]}}}'
        assert op.post(f"{BASE}/input", content=nan, headers=as_json).status_code == 422
        assert op.post(f"{BASE}/input", content="{not json", headers=as_json).status_code == 422
        assert op.post(f"{BASE}/input", json={"deadman": True, "grip": {"right": 2}}).status_code == 422

        start = np.array(robot.runtime.site_pose("r_palm")[0])
        target = (start + np.array([0.08, 0.0, 0.08])).tolist()
        seq = 0
        deadline = time.monotonic() + 60
        while np.linalg.norm(np.array(robot.runtime.site_pose("r_palm")[0]) - target) > 0.04:
            assert time.monotonic() < deadline, "the hand did not follow the operator's target"
            seq += 1
            body = {"seq": seq, "sent_at": time.time(), "deadman": True, "hands": {"right": {"pos": target}}}
            answer = op.post(f"{BASE}/input", json=body)
            assert answer.status_code == 202, answer.text
            time.sleep(1 / 30)

        status = op.get(BASE).json()
        assert status["operator"] == "test operate"
        latency = status["status"]["input_to_command"]
        assert latency["count"] > 0 and math.isfinite(latency["p99_ms"])
        wait_for(lambda: op.get(BASE).json()["status"]["hold_reason"] == "input timed out", "the deadman hold")

        stopped = op.post(f"{BASE}/stop")
        assert stopped.status_code == 200 and stopped.json()["ok"], stopped.text
        assert not op.get(BASE).json()["status"]["active"]
        assert op.post(f"{BASE}/stop").status_code == 409  # nothing to stop
        assert admin.post(f"{BASE}/start").status_code == 200  # free for the next operator
        assert admin.post(f"{BASE}/stop").status_code == 200


@pytest.mark.slow
def test_a_glove_is_calibrated_through_the_api_and_then_closes_the_robots_hand(server: LiveServer) -> None:
    from dynamical.drivers.glove_sim import SimulatedGlove

    with real_agent(server, ROBOT) as client, server.http("operate") as op, server.http("admin") as admin:
        robot = client.agent
        config = {"side": "right", "address": "127.0.0.1:0"}
        body = {"id": "glove_r", "name": "Right glove", "kind": "glove", "config": config}
        assert admin.post("/api/v1/peripherals", json=body).status_code == 201
        assert op.get("/api/devices/glove/nope").status_code == 404
        status = op.get("/api/devices/glove/glove_r")
        assert status.status_code == 200, status.text
        port = int(status.json()["listen"].rsplit(":", 1)[1])
        assert not status.json()["stats"]["connected"]

        assert op.post("/api/devices/glove/glove_r/calibration/start", json={"user": "../x"}).status_code == 422
        started = op.post("/api/devices/glove/glove_r/calibration/start", json={"user": "alice"})
        assert started.status_code == 200 and started.json()["pose"] == "open", started.text
        glove = SimulatedGlove("right", seed=2)
        glove.stream(("127.0.0.1", port), "calibrate", 8.5, 100.0)  # open, fist, pinch: 3 s each
        calibration = op.get("/api/devices/glove/glove_r/calibration/status").json()
        assert calibration["state"] == "done", calibration
        assert op.get("/api/devices/glove/glove_r").json()["calibrated_users"] == ["alice"]

        # Not holding the robot's teleop session: the glove may not drive it.
        bind = {"robot_id": ROBOT, "user": "alice"}
        assert op.post("/api/devices/glove/glove_r/teleop", json=bind).status_code == 409
        assert op.post(f"{BASE}/start", json={"config": {"deadman_s": 0.5}}).status_code == 200
        assert op.post("/api/devices/glove/glove_r/teleop", json={**bind, "user": "bob"}).status_code == 409
        bound = op.post("/api/devices/glove/glove_r/teleop", json=bind)
        assert bound.status_code == 200 and bound.json()["bound_robot"] == ROBOT, bound.text

        hand = robot.description.group_indices("hand_right")
        glove.stream(("127.0.0.1", port), "grasp", 2.0, 100.0)  # open → fist over 2 s
        wait_for(lambda: np.array(robot.state().q)[hand][2:].min() > 0.9, "the robot's fingers to close")
        status = op.get("/api/devices/glove/glove_r").json()
        assert status["stats"]["accepted"] > 100 and status["retarget_ms_p50"] is not None
        assert op.delete("/api/devices/glove/glove_r/teleop").json()["bound_robot"] is None
        assert op.post(f"{BASE}/stop").status_code == 200
