"""The four shared-memory channels of one robot, created together and attached by name."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from dynamical.runtime.channels import CommandRing, EventRing, StateSnapshot, StatusBlock


class ChannelNames(BaseModel):
    """What a process needs to attach to a robot's channels (picklable, for the spawn)."""

    commands: str
    state: str
    status: str
    events: str
    n_joints: int


@dataclass
class ChannelBundle:
    commands: CommandRing
    state: StateSnapshot
    status: StatusBlock
    events: EventRing

    @classmethod
    def create(cls, n_joints: int, names: ChannelNames | None = None) -> ChannelBundle:
        """New segments, named as given (the realtime process) or automatically (lock-step)."""
        if names is not None and names.n_joints != n_joints:
            raise ValueError(f"channel names are for {names.n_joints} joints, the robot has {n_joints}")
        return cls(
            commands=CommandRing.create(names.commands if names else None, n_joints),
            state=StateSnapshot.create(names.state if names else None, n_joints),
            status=StatusBlock.create(names.status if names else None, n_joints),
            events=EventRing.create(names.events if names else None, n_joints),
        )

    @classmethod
    def attach(cls, names: ChannelNames) -> ChannelBundle:
        n = names.n_joints
        return cls(
            commands=CommandRing.attach(names.commands, n),
            state=StateSnapshot.attach(names.state, n),
            status=StatusBlock.attach(names.status, n),
            events=EventRing.attach(names.events, n),
        )

    @property
    def names(self) -> ChannelNames:
        return ChannelNames(
            commands=self.commands.name,
            state=self.state.name,
            status=self.status.name,
            events=self.events.name,
            n_joints=self.commands.n_joints,
        )

    def close(self) -> None:
        for channel in (self.commands, self.state, self.status, self.events):
            channel.close()

    def unlink(self) -> None:
        """Remove the segments (by the process that created them)."""
        for channel in (self.commands, self.state, self.status, self.events):
            channel.unlink()
