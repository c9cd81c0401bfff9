"""The agent link's wire format: msgpack round trips, versions and refusals."""

import msgpack
import pytest

from dynamical.agent.messages import (
    PROTOCOL_VERSION,
    Estop,
    ProtocolError,
    SafetyEvents,
    SafetyEventWire,
    decode_agent,
    decode_server,
    encode,
)
from dynamical.agent.robot_agent import SafetyEventReport


def test_safety_events_round_trip_with_the_kernel_tick():
    report = SafetyEventReport(seq=7, t=1.25, tick=1250, rule="VELOCITY_LIMIT", joint="r_elbow", value=3.2, limit=3.0)
    wire = SafetyEventWire.from_report(report, ["r_shoulder_pitch", "r_elbow"], request_id="req-1")
    decoded = decode_agent(encode(SafetyEvents(events=[wire])))
    assert isinstance(decoded, SafetyEvents)
    (event,) = decoded.events
    assert (event.seq, event.tick, event.joint, event.request_id) == (7, 1250, 1, "req-1")
    assert event.value == pytest.approx(3.2) and event.limit == pytest.approx(3.0)


def test_server_commands_round_trip_and_each_side_refuses_the_others_messages():
    message = Estop(command_id="c1", category=1)
    assert decode_server(encode(message)) == message
    with pytest.raises(ProtocolError):
        decode_agent(encode(message))


def test_other_versions_and_non_msgpack_are_refused_in_one_line():
    raw = msgpack.packb({"v": PROTOCOL_VERSION + 1, "type": "estop", "command_id": "c", "category": 1})
    with pytest.raises(ProtocolError, match="version"):
        decode_server(raw)
    with pytest.raises(ProtocolError):
        decode_server(b"\xc1 not msgpack")
    with pytest.raises(ProtocolError):
        decode_server(msgpack.packb(["a", "list"]))
