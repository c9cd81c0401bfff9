"""The shared-memory channels of one robot, created together and attached by name.

Four are always there (commands, state, status, events). A robot placed in a simulated world
with objects also gets the world-state channel, whose shape and digest come from the
``WorldIndex`` each side derives from its own compiled model: the names cross the process
boundary, never the lists themselves. A robot whose keep-out zones may change at run time gets
the zone mailbox (the realtime process always makes one). The trajectory ring (the executive's
lookahead segments) is always there; a simulated robot run by the realtime process also gets the
world-reset mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from dynamical.robot.sim_robot import WorldIndex
from dynamical.runtime.channels import (
    CommandRing,
    EventRing,
    StateSnapshot,
    StatusBlock,
    TrajectoryRing,
    WorldResetMailbox,
    WorldState,
    ZoneMailbox,
)

Channel = (
    CommandRing
    | StateSnapshot
    | StatusBlock
    | EventRing
    | TrajectoryRing
    | WorldState
    | ZoneMailbox
    | WorldResetMailbox
)


class WorldChannelName(BaseModel):
    """What a process needs to attach to the world-state channel."""

    name: str
    n_objects: int
    n_bodies: int
    """Contact bodies (columns of ``touching``)."""
    digest: int
    """The ``WorldIndex`` digest both sides must agree on."""

    @classmethod
    def for_index(cls, index: WorldIndex, name: str = "") -> WorldChannelName | None:
        """The world channel for ``index``; None when the world has no objects to publish."""
        if not index.objects:
            return None
        return cls(name=name, n_objects=len(index.objects), n_bodies=len(index.contact_bodies), digest=index.digest)


class ChannelNames(BaseModel):
    """What a process needs to attach to a robot's channels (plain JSON, for the spawn)."""

    commands: str
    state: str
    status: str
    events: str
    n_joints: int
    world: WorldChannelName | None = None
    """None for a robot without a world (or a world without objects)."""
    zones: str | None = None
    """The zone mailbox; None for a robot whose zones are only the configured ones."""
    trajectory: str = ""
    """The trajectory ring (empty: picked at creation, lock-step)."""
    world_reset: str | None = None
    """The world-reset mailbox; None where the world cannot be reset through the channels."""


@dataclass
class ChannelBundle:
    commands: CommandRing
    state: StateSnapshot
    status: StatusBlock
    events: EventRing
    trajectory: TrajectoryRing
    world: WorldState | None = None
    zones: ZoneMailbox | None = None
    world_reset: WorldResetMailbox | None = None

    @classmethod
    def create(
        cls, n_joints: int, names: ChannelNames | None = None, world: WorldChannelName | None = None
    ) -> ChannelBundle:
        """New segments, named as given (the realtime process) or automatically (lock-step).

        The world channel is made from ``names.world`` when names are given, else from ``world``
        (its ``name`` ignored: lock-step picks a free one). The zone mailbox is made when
        ``names.zones`` is set, and always in lock-step, whose node then polls it as the realtime
        one does."""
        if names is not None and names.n_joints != n_joints:
            raise ValueError(f"channel names are for {names.n_joints} joints, the robot has {n_joints}")
        spec = names.world if names is not None else world
        return cls(
            commands=CommandRing.create(names.commands if names else None, n_joints),
            state=StateSnapshot.create(names.state if names else None, n_joints),
            status=StatusBlock.create(names.status if names else None, n_joints),
            events=EventRing.create(names.events if names else None, n_joints),
            trajectory=TrajectoryRing.create(names.trajectory or None if names else None, n_joints),
            world=None
            if spec is None
            else WorldState.create(spec.name if names else None, spec.n_objects, spec.n_bodies, spec.digest),
            zones=None
            if names is not None and names.zones is None
            else ZoneMailbox.create(names.zones if names else None, n_joints),
            world_reset=None
            if names is None or names.world_reset is None
            else WorldResetMailbox.create(names.world_reset, n_joints),
        )

    @classmethod
    def attach(cls, names: ChannelNames) -> ChannelBundle:
        n = names.n_joints
        world = names.world
        return cls(
            commands=CommandRing.attach(names.commands, n),
            state=StateSnapshot.attach(names.state, n),
            status=StatusBlock.attach(names.status, n),
            events=EventRing.attach(names.events, n),
            trajectory=TrajectoryRing.attach(names.trajectory, n),
            world=None
            if world is None
            else WorldState.attach(world.name, world.n_objects, world.n_bodies, world.digest),
            zones=None if names.zones is None else ZoneMailbox.attach(names.zones, n),
            world_reset=None if names.world_reset is None else WorldResetMailbox.attach(names.world_reset, n),
        )

    @property
    def names(self) -> ChannelNames:
        world = self.world
        return ChannelNames(
            commands=self.commands.name,
            state=self.state.name,
            status=self.status.name,
            events=self.events.name,
            n_joints=self.commands.n_joints,
            world=None
            if world is None
            else WorldChannelName(
                name=world.name, n_objects=world.n_objects, n_bodies=world.n_bodies, digest=world.digest
            ),
            zones=None if self.zones is None else self.zones.name,
            trajectory=self.trajectory.name,
            world_reset=None if self.world_reset is None else self.world_reset.name,
        )

    def segments(self) -> list[Channel]:
        """Every channel of the bundle."""
        channels: list[Channel] = [
            self.commands,
            self.state,
            self.status,
            self.events,
            self.trajectory,
        ]
        if self.world is not None:
            channels.append(self.world)
        if self.zones is not None:
            channels.append(self.zones)
        if self.world_reset is not None:
            channels.append(self.world_reset)
        return channels

    def close(self) -> None:
        for channel in self.segments():
            channel.close()

    def unlink(self) -> None:
        """Remove the segments (by the process that created them)."""
        for channel in self.segments():
            channel.unlink()
