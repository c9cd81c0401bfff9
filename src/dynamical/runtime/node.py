"""Tier 0: the driver behind the safety kernel, one tick at a time.

The realtime process and the lock-step runner both drive this object; only the clock differs.
A tick reads the newest command, the newest trajectory segment (copied only on the tick after
the executive published one: the tick compares one word) and the executive's requests from
shared memory, runs the kernel, hands its command to the driver (and steps the simulator when simulated), then
publishes state and status. Events go straight from the kernel into the shared event ring.

Two publications run at a fraction of the tick rate, on different ticks so that no tick pays for
both: the world state (objects' poses, speeds, bottoms, contacts; when the channels have a world
channel) every ``world_every`` ticks, and the running audit of the commands the driver received
every ``AUDIT_EVERY`` ticks, half a world cadence off. Each costs tens of µs; at 1 kHz a tick has
1000.

Keep-out zones the executive posts to the zone mailbox are taken at the end of a tick, after the
driver write and the publications: the tick compares one word, and only on the tick after a post
parses the list and stages it in the kernel (some 100 µs), which then applies it from the next
tick on. The answer (applied, or refused with the reason) goes back through the mailbox; a bad
list is refused, never raised into the loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from dynamical.robot.sim_robot import SimRobot
from dynamical.runtime.bundle import ChannelBundle
from dynamical.runtime.channels import ChannelError, ZoneMailbox, decode_zones, encode_zones
from dynamical.safety.audit import StreamAudit
from dynamical.safety.kernel import KernelOutput, SafetyKernel
from dynamical.safety.separation import Person, persons_array

WORLD_EVERY = 10
"""Ticks between two world-state publications: 100 Hz at a 1 kHz tick."""
AUDIT_EVERY = 50
"""Ticks between two audits of the driver's commands: 20 Hz at a 1 kHz tick."""


class RealtimeNode:
    def __init__(
        self,
        robot: SimRobot,
        kernel: SafetyKernel,
        channels: ChannelBundle,
        physics_substeps: int = 1,
        world_every: int = WORLD_EVERY,
    ) -> None:
        if world_every < 2:
            raise ValueError(
                f"world_every must be >= 2 ticks (the audit runs between two publications), got {world_every}"
            )
        # The driver is private to tier 0: only this node, behind the kernel, touches it.
        self._robot = robot
        self.kernel = kernel
        self.channels = channels
        self.physics_substeps = physics_substeps
        self.world_every = world_every
        self.ticks = 0
        self._probe = None
        if channels.world is not None:
            self._probe = robot.world_probe()
            index = self._probe.index
            shape = (len(index.objects), len(index.contact_bodies))
            if (channels.world.n_objects, channels.world.n_bodies) != shape or channels.world.digest != index.digest:
                raise ChannelError(
                    f"the world channel was made for {channels.world.n_objects} objects and "
                    f"{channels.world.n_bodies} contact bodies (digest {channels.world.digest}); this robot's world "
                    f"has {shape[0]} and {shape[1]} (digest {index.digest})"
                )
        # The audit is read once per skill, not per control tick: a batch every AUDIT_EVERY ticks,
        # half a world cadence off the publications so that no tick does both. Twice the cadence
        # of room: a full buffer (which audits at once, on whatever tick) never happens.
        self.audit_every = max(AUDIT_EVERY, world_every)
        self._audit_phase = world_every // 2
        self.audit = StreamAudit(robot.description, kernel.dt, batch=2 * self.audit_every)
        if self._probe is not None:  # readers get the world before the first tick
            self.publish_world(0, robot.time)
        self._estop_seq, _, _ = channels.status.pending_estop()
        self._reset_seq = channels.status.reset_seq()
        self._zones: ZoneMailbox | None = channels.zones
        self._zones_word = 0 if channels.zones is None else channels.zones.request_word()
        self._estop_latched_t = math.nan
        # What the executive published before this node existed was meant for another kernel
        # (or another world): only what comes after counts.
        self._segment_word = channels.trajectory.last_seq()
        kernel.skip_published(channels.commands.last_seq(), self._segment_word)
        self._no_persons = np.zeros((0, 7))
        kernel.start(robot.read_state())

    def shutdown(self) -> None:
        """Leaving: drive power off, so the holding brakes keep the robot where it stopped."""
        self._robot.set_power(False)

    def warm_up(self) -> None:
        """Load the kernel's compiled code, and the zone list's JSON reader, before the first timed tick."""
        self.kernel.warm_up()
        if self._zones is not None:  # the first parse costs some 100 µs more than the next ones
            decode_zones(encode_zones(list(self.kernel.zones.zones)))

    def persons(self) -> np.ndarray:
        """People the tier-0 person sensor sees, (m, 7) as ``persons_array`` lays them out: in
        simulation, the mannequin's true pose."""
        capsule = self._robot.mannequin_capsule()
        if capsule is None:
            return self._no_persons
        return persons_array([Person(base=capsule[0], top=capsule[1], radius=capsule[2])])

    def tick(self, t: float, tick: int, now: Callable[[], float] | None = None) -> KernelOutput:
        """One safety tick at time ``t`` (s, the clock commands are stamped with).

        ``now`` reads the clock right after the driver write, to time the e-stop latency
        (``t`` is used when it is None, as in lock-step)."""
        status = self.channels.status
        state = self._robot.read_state()
        estop_seq, category, _ = status.pending_estop()
        if estop_seq != self._estop_seq:
            self._estop_seq = estop_seq
            self.kernel.request_estop(category, t)
        reset_seq = status.reset_seq()
        if reset_seq != self._reset_seq:
            self._reset_seq = reset_seq
            self.kernel.request_reset(state)

        ring = self.channels.trajectory
        segment = None
        word = ring.last_seq()
        if word != self._segment_word:
            self._segment_word = word
            segment = ring.latest()
        out = self.kernel.tick(t, tick, state, self.channels.commands.latest(), self.persons(), segment)

        self._robot.set_power(out.power_on)
        if out.power_on:
            self._robot.write_command(out.command)
            self.audit.add(out.command.q, out.command.dq, out.command.tau)
        if out.estop_category < 0:
            self._estop_latched_t = math.nan
        elif math.isnan(self._estop_latched_t):
            self._estop_latched_t = now() if now is not None else t  # the first stopping command
        self._robot.step(self.physics_substeps)
        self.ticks += 1

        after = self._robot.read_state()
        self.channels.state.write(after.t, tick, after.q, after.dq, after.tau)
        status.write_status(
            tick=tick,
            t=t,
            mode=int(out.mode),
            estop_category=out.estop_category,
            protective_stop=out.protective_stop,
            speed_scale=out.speed_scale,
            separation_m=out.separation if np.isfinite(out.separation) else math.nan,
            protective_distance_m=out.protective_distance,
            interventions=out.interventions,
            last_command_seq=self.kernel.last_command_seq,
            rt_heartbeat=self.ticks,
            power_on=out.power_on,
            estop_latched_t=self._estop_latched_t,
            reason=int(out.reason),
            stop_rule=int(self.kernel.stop_rule),
            stop_tick=self.kernel.stop_tick,
            segment_seq=self.kernel.last_segment_seq,
            stop_t=self.kernel.stop_t,
            lookahead_s=out.lookahead,
        )
        ticks = self.ticks
        if ticks % self.world_every == 0:
            if self._probe is not None:
                self.publish_world(tick, t)
        elif ticks % self.audit_every == self._audit_phase:
            self.audit.flush()
            status.write_audit(self.audit.totals)
        zones = self._zones
        if zones is not None:
            word = zones.request_word()
            if word != self._zones_word and not word & 1:  # odd: the executive is writing one now
                self._take_zones(zones, word, tick)
        return out

    def _take_zones(self, zones: ZoneMailbox, word: int, tick: int) -> None:
        """Stage the zone list posted as ``word`` in the kernel and answer it."""
        request = word >> 1
        try:
            payload = zones.read_payload(word)
            if payload is None:  # overwritten while we copied: the newer post is taken next tick
                return
            self.kernel.set_zones(decode_zones(payload))
        except Exception as exc:
            # Whatever the payload does, the loop goes on; and the kernel stages a list whole or
            # not at all, so the zones in force are unchanged.
            zones.acknowledge(request, applied=False, tick=tick, reason=f"{type(exc).__name__}: {exc}")
        else:
            zones.acknowledge(request, applied=True, tick=tick)  # the kernel applies it at its next tick
        self._zones_word = word

    def publish_world(self, tick: int, stamp: float) -> None:
        """Measure the world's objects now and publish them (``stamp``: the loop's clock, s)."""
        probe, world = self._probe, self.channels.world
        if probe is None or world is None:
            raise ChannelError("this node has no world channel to publish to")
        probe.measure()
        world.write(self._robot.time, tick, stamp, probe.pos, probe.quat, probe.speed, probe.bottom, probe.touching)
