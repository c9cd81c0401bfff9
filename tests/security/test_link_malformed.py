"""Issue 18, finding 7 (agent link): malformed agent messages.

The attack: ``t = NaN``, ``tick = 2**63`` or a wrongly typed field dropped the socket with a
traceback in the server's log, and a 1 MB ``embodiment`` in ``hello`` was stored and served by
``GET /api/v1/robots``. Now every message is bounded and validated: a bad one gets an ``error``
answer (the link stays up) or, in the handshake, a close code with the reason; a link that keeps
sending bad ones is closed; nothing reaches the database; no traceback; other robots carry on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import msgpack
import pytest

from dynamical.agent.credential import RobotCredential
from dynamical.agent.messages import MAX_AGENT_MESSAGE_BYTES, PROTOCOL_VERSION, Heartbeat, LinkError
from dynamical.api.agent_link import BAD_MESSAGES_LIMIT
from dynamical.api.models import SafetyEvent
from dynamical.api.settings import ApiSettings
from tests.api.conftest import api_settings, backend, templates  # noqa: F401 (fixtures)
from tests.link.harness import LinkClosedError, LiveServer, RawLink, live_server, raw_robot, wait_for

ROBOT, NEIGHBOUR = "thor_001", "thor_002"
GOOD_EVENT = {"seq": 1, "t": 1.0, "tick": 1000, "rule": 1}


@pytest.fixture
def server(api_settings: ApiSettings) -> Iterator[LiveServer]:  # noqa: F811
    with live_server(api_settings) as live:
        yield live


@pytest.fixture
def tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Log records with a traceback (from every thread: the server runs in this process)."""
    caplog.set_level(logging.INFO)
    found: list[logging.LogRecord] = []
    yield found
    found.extend(r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage())


BAD_MESSAGES = [
    ({"type": "safety_events", "events": [GOOD_EVENT | {"t": float("nan")}]}, "events.0.t"),
    ({"type": "safety_events", "events": [GOOD_EVENT | {"t": float("inf")}]}, "events.0.t"),
    ({"type": "safety_events", "events": [GOOD_EVENT | {"tick": 2**63}]}, "64-bit"),
    ({"type": "safety_events", "events": [GOOD_EVENT | {"tick": 2**62}]}, "events.0.tick"),
    ({"type": "safety_events", "events": [GOOD_EVENT | {"rule": "VELOCITY"}]}, "events.0.rule"),
    ({"type": "safety_events", "events": "everything"}, "events"),
    ({"type": "heartbeat", "t_wall": float("nan")}, "t_wall"),
    ({"type": "heartbeat", "t_wall": 1.0, "api_key": 1}, "api_key"),
    ({"type": "plan_result", "request_id": "x" * 1000}, "request_id"),
    ({"type": "command_result", "command_id": 1, "ok": True}, "command_id"),
    ({"type": "launch_missiles"}, "launch_missiles"),
    ({"type": "hello"}, "hello"),
    ({"type": "state", "state": {"robot_id": NEIGHBOUR}}, "state"),
]


def test_bad_messages_get_an_error_answer_and_the_link_stays_up(
    server: LiveServer, tracebacks: list[logging.LogRecord]
) -> None:
    with raw_robot(server, ROBOT) as link:
        for fields, fragment in BAD_MESSAGES:
            link.send_dict(fields)
            answer = link.receive_until(LinkError)
            assert fragment in answer.detail, (fields, answer.detail)
        for frame in (b"\xc1 not msgpack", msgpack.packb([1, 2, 3]), "a text frame", msgpack.packb({"v": 99})):
            link.send_raw(frame)
            assert link.receive_until(LinkError).about is None
        # Still linked: a good message goes through, and the robot is still connected.
        link.send(Heartbeat(t_wall=time.time()))
        link.send_dict({"type": "safety_events", "events": [GOOD_EVENT]})
        with server.db.session() as session:
            wait_for(lambda: session.query(SafetyEvent).count() == 1, "the good event to be stored")
        assert server.connected() == {ROBOT}
    assert not tracebacks


def test_a_link_that_keeps_sending_bad_messages_is_closed_and_others_carry_on(
    server: LiveServer, tracebacks: list[logging.LogRecord]
) -> None:
    with raw_robot(server, NEIGHBOUR) as neighbour, raw_robot(server, ROBOT) as link:
        with pytest.raises(LinkClosedError) as closed:
            for _ in range(BAD_MESSAGES_LIMIT + 5):
                link.send_dict({"type": "heartbeat", "t_wall": float("nan")})
                link.receive_until(LinkError)
        assert closed.value.code == 1008 and "refused messages" in closed.value.reason
        wait_for(lambda: server.connected() == {NEIGHBOUR}, "the flooding robot to be gone")
        neighbour.send(Heartbeat(t_wall=time.time()))
        assert server.connected() == {NEIGHBOUR}
    with raw_robot(server, "thor_003") as big:
        big.send_raw(msgpack.packb({"v": PROTOCOL_VERSION, "type": "heartbeat", "pad": b"x" * MAX_AGENT_MESSAGE_BYTES}))
        assert big.closed().code == 1009
    assert not tracebacks


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"embodiment": "x" * 1_000_000}, "exceeds max_str_len"),  # refused while unpacking
        ({"embodiment": "x" * 129}, "embodiment"),
        ({"name": "y" * 129}, "name"),
        ({"name": "thor\u202e100_roht"}, "bidirectional"),
        ({"capabilities": ["wave"] * 1001}, "capabilities"),
        ({"capabilities": "wave"}, "capabilities"),
        ({"running_request_id": "../../etc"}, "running_request_id"),
        ({"kind": "tank"}, "kind"),
        ({"api_key": 1}, "api_key"),
    ],
)
def test_a_bad_hello_is_closed_with_the_reason_and_nothing_is_stored(
    server: LiveServer, tracebacks: list[logging.LogRecord], overrides: dict, fragment: str
) -> None:
    credential = RobotCredential.load(server.credential(ROBOT))
    with RawLink(server) as link, pytest.raises(LinkClosedError) as closed:
        link.hello(credential, ROBOT, **overrides)
    assert closed.value.code == 1007 and fragment in closed.value.reason
    with server.http("read") as http:
        assert http.get("/api/v1/robots").json() == []
    (line,) = [a for a in server.audit() if "refused" in a.path]
    assert line.status_code == 400 and len(line.path) < 300
    assert not tracebacks


def test_a_robot_id_the_api_cannot_name_is_refused(server: LiveServer) -> None:
    with RawLink(server) as link, pytest.raises(LinkClosedError) as closed:
        link.hello(RobotCredential.generate(), "thor 001; drop table robots")
    assert closed.value.code == 1007 and "robot_id" in closed.value.reason
