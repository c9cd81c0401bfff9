"""Recording through the API, end to end in lock-step mode: an invoke with ``"record": true`` and
the dashboard's start/stop (Ctrl+R) make the robot's agent write LeRobot datasets that
``GET /api/v1/datasets`` then lists; the robot's state says when it records (the REC badge)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from dynamical.api.settings import ApiSettings
from dynamical.learning.session import RobotRecorder, recorder_for
from tests.api.conftest import api_settings, templates  # noqa: F401 (fixtures)
from tests.learning.recorded import require_learn_env
from tests.link.harness import WAIT_S, LiveServer, hello_fields, live_server, wait_for

ROBOT = "rec_001"
WRITE_WAIT_S = 600.0
"""s for a stopped recording to be written (the learning environment's imports on a loaded machine)."""


@pytest.fixture
def backend() -> str:
    return "sqlite"  # recording touches no database table; one backend is enough


@pytest.fixture
def server(api_settings: ApiSettings) -> Iterator[LiveServer]:  # noqa: F811
    with live_server(api_settings) as live:
        yield live


@contextmanager
def recording_agent(server: LiveServer) -> Iterator[RobotRecorder]:
    """The robot's agent as ``dynamical agent --mode lockstep`` runs it, with its recorder."""
    from dynamical.agent.link_client import AgentLinkClient, LinkConfig, RobotIdentity
    from dynamical.agent.robot_agent import make_robot_agent
    from dynamical.config import load_settings
    from dynamical.launch import load_description, load_world

    settings = load_settings(None)
    world = load_world(settings)
    assert world is not None
    robot = make_robot_agent(ROBOT, load_description(settings), world, settings.safety, mode="lockstep", speed=4.0)
    recorder = recorder_for(robot, server.settings.data_dir / "datasets")
    identity = RobotIdentity(**{k: v for k, v in hello_fields(ROBOT).items() if k != "robot_id"})
    config = LinkConfig(server=server.url, credential=server.credential(ROBOT), backoff_max_s=1.0)
    client = AgentLinkClient(robot, identity, config, recorder=recorder)
    robot.start()
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: ROBOT in server.connected(), "the agent to connect")
        yield recorder
    finally:
        client.stop()
        thread.join(WAIT_S)
        robot.cancel()
        client.wait_idle(WAIT_S)
        robot.stop()
        recorder.wait_written(WRITE_WAIT_S)


def _recording(server: LiveServer) -> dict[str, Any] | None:
    with server.http("read") as http:
        answer = http.get(f"/api/v1/robots/{ROBOT}/recording")
    assert answer.status_code == 200, answer.text
    return answer.json()["recording"]


@pytest.mark.slow
@pytest.mark.timeout(1800)  # two writers start LeRobot at nice 10: minutes on a loaded machine
def test_invoke_with_record_and_operator_recording_write_datasets(server: LiveServer) -> None:
    require_learn_env()
    with recording_agent(server) as recorder, server.http("operate") as http:
        # 1. An invoke asks for its execution to be recorded.
        body = {"mode": "direct", "skill_ids": ["wave"], "robot_id": ROBOT, "record": True, "timeout_s": 300}
        answer = http.post("/api/v1/robot/invoke_skill", json=body, timeout=320)
        assert answer.status_code == 200, answer.text
        assert answer.json()["success"], answer.json()
        # 2. The operator's Ctrl+R: start, the state says REC, a second start is refused, stop.
        started = http.post(f"/api/v1/robots/{ROBOT}/recording/start", json={"task": "wave at the camera"})
        assert started.status_code == 200, started.text
        status = wait_for(lambda: (s := _recording(server)) and s["active"] and s["frames"] > 0 and s, "REC")
        assert status["task"] == "wave at the camera"
        again = http.post(f"/api/v1/robots/{ROBOT}/recording/start", json={})
        assert again.status_code == 409 and "already recording" in again.json()["detail"]
        stopped = http.post(f"/api/v1/robots/{ROBOT}/recording/stop")
        assert stopped.status_code == 200, stopped.text
        wait_for(lambda: not _recording(server)["active"], "the REC badge to go off")
        not_recording = http.post(f"/api/v1/robots/{ROBOT}/recording/stop")
        assert not_recording.status_code == 409 and "not recording" in not_recording.json()["detail"]
        recorder.wait_written(WRITE_WAIT_S)
        assert recorder.last_error is None, recorder.last_error
        assert len(recorder.written) == 2

        # 3. Both are datasets the API lists and reads.
        listed = {d["name"]: d for d in http.get("/api/v1/datasets").json()}
        assert set(recorder.written) <= set(listed)
        # Written concurrently, finished in either order: the name's counter says which came first.
        invoked, operated = sorted(recorder.written, key=lambda name: int(name.rsplit("-", 1)[1]))
        assert listed[invoked]["tasks"] == ["direct: wave"]
        assert listed[operated]["tasks"] == ["wave at the camera"]
        for name in recorder.written:
            assert listed[name]["episodes"] == 1 and listed[name]["frames"] > 0
            assert listed[name]["cameras"] == ["head", "front"]  # the lock-step agent renders them
        episodes = http.get(f"/api/v1/datasets/{invoked}/episodes").json()
        assert len(episodes) == 1 and episodes[0]["success"] is True
        frames = http.get(f"/api/v1/datasets/{invoked}/episodes/0/frames").json()
        assert len(frames["action"]) == episodes[0]["length"]
        # The wave moved an arm: the recorded action is a motion, not a held pose.
        spread = max(max(col) - min(col) for col in zip(*frames["action"], strict=True))
        assert spread > 0.2
