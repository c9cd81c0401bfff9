"""Issue 18, finding 1: robot impersonation on the agent link.

The attack: an operate API key opened ``/ws/agent`` as ``thor_001``, replaced the real agent,
received its plans and answered its e-stop. Now a link must prove the robot's credential (a
signature over the server's fresh challenge), an API key is refused, a robot that is connected and
alive cannot be connected a second time (the real link keeps working, the e-stop reaches the real
robot), a revoked credential closes its link, and all of it is in the audit log.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dynamical.agent.credential import RobotCredential
from dynamical.agent.messages import Heartbeat
from dynamical.api.agent_link import CLOSE_ALREADY_CONNECTED, CLOSE_REVOKED
from dynamical.api.robot_credentials import revoke
from dynamical.api.settings import ApiSettings
from tests.api.conftest import api_settings, backend, templates  # noqa: F401 (fixtures)
from tests.link.harness import LinkClosedError, LiveServer, RawLink, live_server, raw_robot, real_agent, wait_for

ROBOT = "thor_001"


@pytest.fixture
def server(api_settings: ApiSettings) -> Iterator[LiveServer]:  # noqa: F811
    with live_server(api_settings) as live:
        yield live


def test_an_operate_key_is_not_a_robot_credential(server: LiveServer) -> None:
    server.credential(ROBOT)  # the real robot is enrolled; the attacker has an operate key only
    for headers in ({"X-API-Key": server.keys["operate"]}, {"X-API-Key": server.keys["admin"]}):
        with RawLink(server, headers) as link:
            closed = link.closed()
        assert closed.code == 1008
        assert "API key is not a robot credential" in closed.reason

    # Without a key: a hello for the robot, signed by the attacker's own key or by none, is refused.
    for signer in (RobotCredential.generate(), None):
        with RawLink(server) as link, pytest.raises(LinkClosedError) as refused:
            link.hello(signer, ROBOT)
        assert refused.value.code == 1008
        assert "does not prove" in refused.value.reason
    # A new id does not register itself: it has no credential.
    with RawLink(server) as link, pytest.raises(LinkClosedError) as refused:
        link.hello(RobotCredential.generate(), "thor_666")
    assert refused.value.code == 1008 and "no credential" in refused.value.reason

    assert server.connected() == set()
    with server.http("read") as http:
        assert "thor_666" not in {r["id"] for r in http.get("/api/v1/robots").json()}
    refusals = [a for a in server.audit() if "refused" in a.path]
    assert [a.status_code for a in refusals] == [401] * 5
    assert all(a.actor == "anonymous" for a in refusals)
    assert sum("thor_666" in a.path for a in refusals) == 1


def test_a_signature_is_good_for_one_connection_only(server: LiveServer) -> None:
    credential = RobotCredential.load(server.credential(ROBOT))
    with RawLink(server) as first:
        old_nonce = first.challenge()
    # Replaying an answer to another connection's challenge: the server's nonce differs each time.
    with RawLink(server) as replay:
        nonce = replay.challenge()
        assert nonce != old_nonce
        replay.nonce = old_nonce
        replay.send_dict(
            {"type": "hello", "robot_id": ROBOT, "signature": credential.sign_challenge(old_nonce, ROBOT)}
            | {"name": ROBOT, "profile": "humanoid", "kind": "simulated", "capabilities": []}
        )
        closed = replay.closed()
    assert closed.code == 1008 and "does not prove" in closed.reason
    # A robot's key speaks only for its own id.
    server.credential("thor_002")
    with RawLink(server) as other, pytest.raises(LinkClosedError) as refused:
        other.hello(credential, "thor_002")
    assert refused.value.code == 1008


@pytest.mark.slow
def test_a_second_link_for_a_live_robot_is_refused_and_the_real_one_keeps_working(server: LiveServer) -> None:
    credential_path = server.credential(ROBOT)
    with real_agent(server, ROBOT, credential_path) as agent:
        # The worst case: the impostor even holds the robot's key (a copied file, a second agent
        # started by mistake). The live link is not replaced.
        with RawLink(server) as impostor, pytest.raises(LinkClosedError) as refused:
            impostor.hello(RobotCredential.load(credential_path), ROBOT)
        assert refused.value.code == CLOSE_ALREADY_CONNECTED
        assert "connected already" in refused.value.reason
        assert agent.connections == 1 and agent.connected.is_set()
        with server.http("operate") as http:
            stopped = http.post("/api/safety/estop", json={"robot_id": ROBOT, "category": 1}).json()
            assert stopped["ok"], stopped
            # The real robot's kernel latched: the answer came from it.
            state = wait_for(
                lambda: (
                    (s := http.get(f"/api/v1/robots/{ROBOT}/state").json()["state"])["safety"]["mode"] == "ESTOP" and s
                ),
                "the real robot to report its e-stop",
            )
            assert state["robot_id"] == ROBOT
            assert http.post("/api/safety/reset", json={"robot_id": ROBOT}).json()["ok"]
        assert agent.connections == 1, "the real agent was never disconnected"
    disconnected = f"/ws/agent {ROBOT} disconnected"
    wait_for(lambda: any(a.path.startswith(disconnected) for a in server.audit()), "the disconnect's audit line")
    events = [(a.path.split(":")[0], a.status_code) for a in server.audit()]
    assert events == [
        (f"/ws/agent {ROBOT} connected", 101),
        (f"/ws/agent {ROBOT} refused", 409),
        (disconnected, 1000),
    ]


def test_revoking_a_credential_closes_its_link_and_refuses_the_next(server: LiveServer) -> None:
    with raw_robot(server, ROBOT) as link:
        assert server.connected() == {ROBOT}
        assert revoke(server.db, ROBOT) is not None  # what `dynamical robots revoke` does, from any process
        closed = link.closed()
    assert closed.code == CLOSE_REVOKED
    wait_for(lambda: server.connected() == set(), "the revoked robot to be gone")
    credential = RobotCredential.generate()
    with RawLink(server) as again, pytest.raises(LinkClosedError) as refused:
        again.hello(credential, ROBOT)
    assert refused.value.code == 1008 and "revoked" in refused.value.reason
    audit = [(a.path.split(":")[0], a.status_code, a.actor) for a in server.audit()]
    assert (f"/ws/agent {ROBOT} connected", 101, f"robot:{ROBOT}") in audit
    assert (f"/ws/agent {ROBOT} revoked", 403, f"robot:{ROBOT}") in audit
    assert (f"/ws/agent {ROBOT} refused", 403, "anonymous") in audit


@pytest.mark.slow
def test_a_refused_agent_backs_off_and_says_why(server: LiveServer) -> None:
    path = server.credential(ROBOT)
    revoke(server.db, ROBOT)
    with real_agent(server, ROBOT, path, wait=False) as agent:
        wait_for(lambda: agent.refusals, "the agent's first refusal")
        time.sleep(4.0)
        assert not agent.connected.is_set() and agent.connections == 0
    assert all("revoked" in why for why in agent.refusals)
    # Exponential backoff (0.5 s doubling, ±20 % jitter): at most 4 more tries within the next
    # 6 s, fewer on a loaded machine; an agent that retried at its initial delay would try 8 times.
    assert 1 <= len(agent.refusals) <= 5
    refused = [a for a in server.audit() if " refused" in a.path]
    assert len(refused) == len(agent.refusals) and all(a.status_code == 403 for a in refused)


def test_a_silent_link_is_replaced_by_its_robot_reconnecting(server: LiveServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # An agent that vanished without a goodbye (power cut, network gone) leaves a socket that
    # sends nothing; its robot, reconnecting, must not be locked out by it.
    from dynamical.api import agent_link

    monkeypatch.setattr(agent_link, "ALIVE_S", 0.5)
    credential = RobotCredential.load(server.credential(ROBOT))
    with raw_robot(server, ROBOT, credential) as silent:
        time.sleep(1.0)
        with RawLink(server) as back:
            back.hello(credential, ROBOT)
            closed = silent.closed()
            assert closed.code == agent_link.CLOSE_REPLACED
            assert server.connected() == {ROBOT}
            back.send(Heartbeat(t_wall=time.time()))
            assert server.connected() == {ROBOT}
