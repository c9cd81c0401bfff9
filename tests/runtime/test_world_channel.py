"""The world-state channel and the driver audit in the status block: round trips, refusals, and
what the realtime node publishes (in lock-step, so it repeats)."""

import numpy as np
import pytest

from dynamical.robot.demo_motion import demo_targets
from dynamical.robot.sim_robot import WorldIndex
from dynamical.runtime.channels import ChannelError, StatusBlock, WorldState
from dynamical.runtime.node import WORLD_EVERY
from dynamical.safety.audit import LimitAudit, StreamAudit, audit_commands


def test_world_state_round_trip_and_refusals():
    rng = np.random.default_rng(0)
    block = WorldState.create(None, 3, 5, digest=1234)
    try:
        assert block.read() is None and block.publications == 0
        pos, quat = rng.normal(size=(3, 3)), rng.normal(size=(3, 4))
        speed, bottom = rng.random(3), rng.random(3)
        touching = rng.random((3, 5)) > 0.5
        block.write(1.5, 42, 100.25, pos, quat, speed, bottom, touching.astype(np.uint8))
        reader = WorldState.attach(block.name, 3, 5, digest=1234)
        sample = reader.read()
        assert (sample.seq, sample.t, sample.tick, sample.stamp) == (1, 1.5, 42, 100.25)
        np.testing.assert_array_equal(sample.pos, pos)
        np.testing.assert_array_equal(sample.quat, quat)
        np.testing.assert_array_equal(sample.speed, speed)
        np.testing.assert_array_equal(sample.bottom, bottom)
        np.testing.assert_array_equal(sample.touching, touching)
        pos[0, 0] = 99.0  # the sample is a copy of what was written, not a view of our array
        assert sample.pos[0, 0] != 99.0
        reader.close()

        with pytest.raises(ChannelError, match="other object or contact-body lists"):
            WorldState.attach(block.name, 3, 5, digest=999)
        with pytest.raises(ChannelError, match="created for 3"):
            WorldState.attach(block.name, 4, 5, digest=1234)
        with pytest.raises(ValueError, match="shapes"):
            block.write(0.0, 0, 0.0, pos[:2], quat, speed, bottom, touching)
        status = StatusBlock.create(None, 2)
        with pytest.raises(ChannelError, match="is a StatusBlock"):
            WorldState.attach(status.name, 3, 5, digest=1234)
        status.close()
        status.unlink()
    finally:
        block.close()
        block.unlink()


def test_status_block_carries_the_driver_audit():
    status = StatusBlock.create(None, 4)
    try:
        assert status.read_audit() is None
        status.write_audit(LimitAudit(commands=10, non_finite=1, position=2, velocity=0, acceleration=3, effort=0))
        reader = StatusBlock.attach(status.name, 4)
        audit = reader.read_audit()
        assert audit == LimitAudit(10, 1, 2, 0, 3, 0) and audit.violations == 6
        reader.close()
    finally:
        status.close()
        status.unlink()


def test_the_stream_audit_in_batches_counts_what_one_audit_of_the_whole_stream_counts(humanoid):
    rng = np.random.default_rng(3)
    n, count, dt = humanoid.n_joints, 237, 1e-3
    q = rng.uniform(humanoid.q_min - 0.05, humanoid.q_max + 0.05, size=(count, n))
    dq = rng.normal(scale=humanoid.v_max * 0.4, size=(count, n)) * 1e-3  # mostly within limits
    dq[rng.random(count) < 0.1] *= 2e3  # velocity and acceleration violations, across batch edges
    tau = rng.normal(scale=humanoid.tau_max * 0.5, size=(count, n))
    q[17, 3] = np.nan
    stream = StreamAudit(humanoid, dt, batch=10)
    flushed = [stream.add(q[i], dq[i], tau[i]) for i in range(count)]
    assert sum(flushed) == count // 10 and stream.pending == count % 10
    stream.flush()
    whole = audit_commands(humanoid, q, dq, tau, dt)
    assert stream.totals == whole
    assert whole.violations > 0 and whole.acceleration > 0 and whole.non_finite == 1


def test_the_node_publishes_the_world_every_ten_ticks_and_audits_what_the_driver_received(runtime, humanoid, tabletop):
    world = runtime.channels.world
    index = WorldIndex.build(humanoid, tabletop)  # derived apart from the simulator, as an executive does
    assert world.digest == index.digest and world.n_objects == len(tabletop.objects)
    first = world.read()
    assert first.seq == 1 and first.t == 0.0  # published at start, before the first tick
    runtime.run(1.0, lambda t, link: link.send(demo_targets(humanoid, t)))
    sample = world.read()
    assert sample.seq == 1 + 1000 // WORLD_EVERY
    assert sample.t == pytest.approx(runtime.time) and sample.tick == 999
    # The published poses are the simulator's, at the moment of publication.
    observer = runtime.observer()
    for i, name in enumerate(index.objects):
        pos, quat = observer.body_pose(name)
        np.testing.assert_array_equal(sample.pos[i], pos)
        np.testing.assert_array_equal(sample.quat[i], quat)
        assert sample.bottom[i] == observer.body_bottom(name)
        touching = {index.contact_bodies[j] for j in np.flatnonzero(sample.touching[i])}
        assert touching == observer.contacts(name) & set(index.contact_bodies)
    # The running audit agrees with an audit of the driver's own record of what it received.
    audit = runtime.channels.status.read_audit()
    rows = [c for _, c, power in runtime.received if power]
    assert len(rows) - 50 < audit.commands <= len(rows)  # audited every 50 ticks
    k = audit.commands
    expected = audit_commands(
        humanoid,
        np.array([c.q for c in rows[:k]]),
        np.array([c.dq for c in rows[:k]]),
        np.array([c.tau for c in rows[:k]]),
        runtime.clock.period,
    )
    assert audit == expected
