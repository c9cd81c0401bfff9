"""The zone mailbox: keep-out zones from the executive to the realtime node and its answer back.
Round trip and refusals of the channel itself, then what the node does with a post (in
lock-step, so it repeats): a good list is staged and in force from the next tick, a bad one is
refused with the reason while the loop and the zones in force go on."""

import math

import pytest

from dynamical.runtime.channels import (
    ZONE_REASON_BYTES,
    ChannelError,
    StatusBlock,
    ZoneMailbox,
    decode_zones,
    encode_zones,
)
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import BoxZone, HalfSpaceZone, SafetyConfig
from dynamical.safety.rules import Rule

FLOOR = SafetyConfig().zones
BIN = BoxZone(name="bin", center=(0.6, 0.4, 0.9), half_size=(0.05, 0.05, 0.05))
HALF_SPACE = '{"kind": "halfspace", "name": "f", "normal": [0, 0, 1], "offset": 0}'


def test_a_zone_list_goes_over_and_the_answer_comes_back():
    writer = ZoneMailbox.create(None, 3, capacity=4096)
    try:
        reader = ZoneMailbox.attach(writer.name, 3)  # the payload size comes from the header
        assert reader.capacity == 4096
        assert reader.request_word() == 0 and writer.answer() is None

        zones = [*FLOOR, BIN]
        request = writer.post(zones)
        word = reader.request_word()
        assert request == 1 and word >> 1 == request and not word & 1
        assert decode_zones(reader.read_payload(word)) == zones

        reader.acknowledge(request, applied=True, tick=42)
        assert writer.answer().request == 1 and writer.answer().applied and writer.answer().tick == 42

        # A refusal carries its reason, cut to the room there is (a cut character reads U+FFFD).
        request = writer.post([BIN])
        assert request == 2
        reason = "ValueError: " + "é" * ZONE_REASON_BYTES
        reader.acknowledge(request, applied=False, tick=43, reason=reason)
        answer = writer.answer()
        assert (answer.request, answer.applied, answer.tick) == (2, False, 43)
        assert answer.reason.startswith("ValueError: éé") and len(answer.reason.encode()) <= ZONE_REASON_BYTES + 2
        reader.acknowledge(request, applied=True, tick=44)
        assert writer.answer().reason == ""  # a short answer leaves nothing of the long one

        # A post the reader copied while a newer one was written is discarded, not half-read.
        old = reader.request_word()
        writer.post(zones)
        assert reader.read_payload(old) is None
        assert decode_zones(reader.read_payload(reader.request_word())) == zones
        reader.close()
    finally:
        writer.close()
        writer.unlink()


def test_the_mailbox_refuses_what_does_not_fit_and_what_is_not_a_zone():
    box = ZoneMailbox.create(None, 2, capacity=256)
    try:
        many = [BoxZone(name=f"box{i}", center=(i, 0.0, 1.0), half_size=(0.1, 0.1, 0.1)) for i in range(5)]
        assert len(encode_zones(many)) > 256
        with pytest.raises(ValueError, match="holds 256"):
            box.post(many)
        assert box.request_word() == 0, "nothing was written"
        with pytest.raises(TypeError, match="not a keep-out zone"):
            box.post([BIN, {"kind": "box"}])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            box.post(BIN)  # type: ignore[arg-type]
        with pytest.raises(ChannelError, match="created for 2"):
            ZoneMailbox.attach(box.name, 3)
        with pytest.raises(ChannelError, match="created with capacity 256"):
            ZoneMailbox.attach(box.name, 2, capacity=1024)
        status = StatusBlock.create(None, 2)
        with pytest.raises(ChannelError, match="is a StatusBlock"):
            ZoneMailbox.attach(status.name, 2)
        status.close()
        status.unlink()
    finally:
        box.close()
        box.unlink()


def _zone_events(rt: LockstepRuntime) -> list:
    return [e for e in rt.link.events() if e.rule == Rule.ZONES_CHANGED]


def test_the_node_stages_a_posted_list_and_answers_it(humanoid, tabletop):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=0) as rt:
        mailbox = rt.channels.zones
        assert mailbox is not None
        hold = lambda t, link: link.send(humanoid.home)  # noqa: E731
        rt.run(0.002, hold)
        _zone_events(rt)
        request = mailbox.post([*FLOOR, BIN])
        rt.run(0.001, hold)  # the tick that takes it: answered, in force from the next one
        answer = mailbox.answer()
        assert (answer.request, answer.applied, answer.reason) == (request, True, "")
        assert _zone_events(rt) == [] and rt.kernel.zones.zones == FLOOR
        rt.run(0.001, hold)
        (event,) = _zone_events(rt)
        assert event.tick == answer.tick + 1 and event.value == len(FLOOR) + 1
        assert rt.kernel.zones.zones == [*FLOOR, BIN]
        rt.run(0.005, hold)
        assert _zone_events(rt) == [], "one post, one change"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "ValidationError"),
        (b'[{"kind": "box", "name": "x", "center": [0, 0, 1], "half_size": [0.1, -0.1, 0.1]}]', "half size"),
        (b'[{"kind": "cylinder", "name": "x"}]', "ValidationError"),
        ("[" + ",".join([HALF_SPACE] * 3) + "]", "capacity"),
        (b"\xff\xfe", "ValidationError"),
    ],
)
def test_the_node_refuses_a_bad_list_and_goes_on_with_the_zones_in_force(humanoid, tabletop, payload, reason):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(max_zones=2), seed=0) as rt:
        mailbox = rt.channels.zones
        hold = lambda t, link: link.send(humanoid.home)  # noqa: E731
        rt.run(0.002, hold)
        request = mailbox.post_payload(payload.encode() if isinstance(payload, str) else payload)
        rt.run(0.005, hold)
        answer = mailbox.answer()
        assert answer.request == request and not answer.applied
        assert reason in answer.reason, answer.reason
        assert rt.kernel.zones.zones == FLOOR and _zone_events(rt) == []
        # The loop went on, and the next good list is taken.
        request = mailbox.post([BIN])
        rt.run(0.002, hold)
        assert mailbox.answer().request == request and mailbox.answer().applied
        assert rt.kernel.zones.zones == [BIN]


def test_invalid_zone_models_are_refused_by_the_realtime_side(humanoid, tabletop):
    """What the executive's models do not prove (``model_construct``, mutation) the realtime side
    refuses: it validates the JSON, then the kernel again."""
    mutated = BoxZone(name="box", center=(0.5, 0.0, 1.0), half_size=(0.1, 0.1, 0.1))
    mutated.half_size = (0.1, -0.1, 0.1)
    bad = [
        mutated,
        BoxZone.model_construct(name="nan", center=(math.nan, 0.0, 0.0), half_size=(0.1, 0.1, 0.1)),
        HalfSpaceZone.model_construct(name="zero", normal=(0.0, 0.0, 0.0), offset=0.0),
        HalfSpaceZone.model_construct(name="", normal=(0.0, 0.0, 1.0), offset=0.0),
    ]
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=0) as rt:
        hold = lambda t, link: link.send(humanoid.home)  # noqa: E731
        for zone in bad:
            request = rt.channels.zones.post([*FLOOR, zone])
            rt.run(0.002, hold)
            answer = rt.channels.zones.answer()
            assert answer.request == request and not answer.applied and answer.reason
        assert rt.kernel.zones.zones == FLOOR and _zone_events(rt) == []
