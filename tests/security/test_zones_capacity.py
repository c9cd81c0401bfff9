"""Issue 18 item 4: the API says what the kernel enforces. A zone change is answered with each
connected robot's acknowledgement (applied, or refused and why), and a zone past a robot's
kernel capacity (its hello says it) is refused with 409 and nothing stored.

A live server and simulated robots (lock-step agents in this process) on loopback; the kernels
are configured small (``max_zones``) so that filling them takes few requests.
"""

from __future__ import annotations

import json
import time

import pytest
from websockets.sync.client import ClientConnection, connect

from dynamical.agent.lockstep_agent import LockstepRobotAgent
from dynamical.bench.live import LivePlatform
from dynamical.config import load_settings
from dynamical.launch import load_description, load_world
from dynamical.safety.config import SafetyConfig
from dynamical.safety.rules import Rule
from tests.security import safety_platform
from tests.security.safety_platform import eventually, rows

live = safety_platform.live
sqlite_template = safety_platform.sqlite_template
pytestmark = pytest.mark.slow
ROBOT = "thor_001"


def _box(i: int, robot_id: str | None = None) -> dict:
    # Away from the robot (it stands at the origin): a zone it is not inside.
    zone = {"kind": "box", "name": f"bin {i}", "center": [2.0 + 0.5 * i, 2.0, 0.5], "half_size": [0.1, 0.1, 0.1]}
    return {"zone": zone} if robot_id is None else {"zone": zone, "robot_id": robot_id}


def _zones_in_force(live: LivePlatform) -> list[tuple[float, float]]:
    """(zones in force, capacity) of each ZONES_CHANGED event the robot's kernel reported."""
    sql = 'SELECT value, "limit" FROM safety_events WHERE robot_id = ? AND rule = ? ORDER BY id'
    return rows(live.db_path, sql, ROBOT, int(Rule.ZONES_CHANGED))


def test_a_zone_past_the_kernels_capacity_is_refused_and_nothing_stored(live: LivePlatform) -> None:
    # A kernel of 4 zones with the configured floor: 3 for the server.
    live.link_robot(ROBOT, safety=SafetyConfig(max_zones=4))
    assert live.hub.zone_capacity(ROBOT) == 3
    with live.client("admin") as client:
        ids = []
        for i in range(3):
            answer = client.post("/api/safety/zones", json=_box(i))
            assert answer.status_code == 201, answer.text
            (ack,) = answer.json()["robots"]
            assert ack["robot_id"] == ROBOT and ack["status"] == "applied", ack
            ids.append(answer.json()["id"])
        # The kernel has them: its own event says 4 zones (the floor and 3) of 4.
        eventually(lambda: (4.0, 4.0) in _zones_in_force(live), what="the kernel's ZONES_CHANGED event")

        for body in (_box(3), _box(3, ROBOT)):
            over = client.post("/api/safety/zones", json=body)
            assert over.status_code == 409, over.text
            assert "takes 3 keep-out zones" in over.json()["detail"] and "nothing stored" in over.json()["detail"]
        assert len(client.get("/api/safety/zones").json()) == 3

        # An update keeps the count; moving a zone elsewhere is applied again.
        moved = client.put(f"/api/safety/zones/{ids[0]}", json=_box(7))
        assert moved.status_code == 200 and moved.json()["robots"][0]["status"] == "applied"

        # Offline, the robot's capacity is still known (kept from its hello): still refused.
        live.robots[ROBOT].stop()
        eventually(lambda: ROBOT not in live.hub.connections, what="the robot gone")
        offline = client.post("/api/safety/zones", json=_box(4, ROBOT))
        assert offline.status_code == 409 and "takes 3" in offline.json()["detail"]

        # Deleting is always allowed; with the robot away the answer says it is not connected.
        deleted = client.delete(f"/api/safety/zones/{ids[1]}")
        assert deleted.status_code == 200 and deleted.json()["robots"] == []
        assert client.post("/api/safety/zones", json=_box(5, ROBOT)).json()["robots"] == [
            {"robot_id": ROBOT, "status": "not_connected", "detail": "it gets the stored zones when its agent connects"}
        ]


class _AgentThatDoesNotSayItsCapacity(LockstepRobotAgent):
    """An agent from before hello carried the kernel's zone capacity: the server cannot check."""

    zone_capacity = None  # type: ignore[assignment]


def test_a_zone_the_robots_kernel_refuses_is_reported_refused(live: LivePlatform) -> None:
    settings = load_settings()
    world = load_world(settings)
    assert world is not None
    # A kernel of 2 zones with the configured floor: 1 for the server, which it does not say.
    agent = _AgentThatDoesNotSayItsCapacity(ROBOT, load_description(settings), world, SafetyConfig(max_zones=2))
    live.link_robot(ROBOT, agent=agent)
    assert live.hub.zone_capacity(ROBOT) is None
    with live.client("admin") as client:
        first = client.post("/api/safety/zones", json=_box(0))
        assert first.status_code == 201 and first.json()["robots"][0]["status"] == "applied"
        second = client.post("/api/safety/zones", json=_box(1))
        assert second.status_code == 201, second.text  # stored: the server could not know
        (ack,) = second.json()["robots"]
        assert ack["status"] == "refused", ack
        assert "exceed this kernel's capacity of 2" in ack["detail"] and "unchanged" in ack["detail"]
        # What the kernel enforces is still the floor and the first zone only.
        eventually(lambda: _zones_in_force(live)[-1:] == [(2.0, 2.0)], what="the kernel's ZONES_CHANGED event")
        # The robot comes back with both zones stored: its kernel refuses them at connect, which
        # no request waits for; the dashboard hears it on telemetry.
        live.robots[ROBOT].stop()
        eventually(lambda: ROBOT not in live.hub.connections, what="the robot gone")
        url = live.url.replace("http://", "ws://") + "/ws/telemetry"
        with connect(url, additional_headers={"X-API-Key": live.keys["operate"]}) as telemetry:
            again = _AgentThatDoesNotSayItsCapacity(ROBOT, load_description(settings), world, SafetyConfig(max_zones=2))
            live.link_robot(ROBOT, agent=again)
            refused = _next(telemetry, "zones_refused")
            assert refused["robot_id"] == ROBOT and "exceed this kernel's capacity of 2" in refused["detail"]
        # Deleting the refused zone gives the robot a list it takes again.
        deleted = client.delete(f"/api/safety/zones/{second.json()['id']}")
        assert deleted.status_code == 200 and deleted.json()["robots"][0]["status"] == "applied"


def _next(telemetry: ClientConnection, kind: str, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        message = json.loads(telemetry.recv(timeout=left))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message on telemetry within {timeout_s:g} s")
