"""Clocks, shared-memory channels and timing statistics for the realtime and executive processes."""

from dynamical.runtime.channels import (
    ChannelError,
    CommandRing,
    CommandSlot,
    EventRecord,
    EventRing,
    StateSample,
    StateSnapshot,
    StatusBlock,
    StatusSample,
)
from dynamical.runtime.clock import (
    Clock,
    LockstepClock,
    RealtimeClock,
    RealtimeStatus,
    TickInfo,
    enter_realtime,
    leave_realtime,
)
from dynamical.runtime.timing import TimingRecorder, TimingSnapshot

__all__ = [
    "ChannelError",
    "Clock",
    "CommandRing",
    "CommandSlot",
    "EventRecord",
    "EventRing",
    "LockstepClock",
    "RealtimeClock",
    "RealtimeStatus",
    "StateSample",
    "StateSnapshot",
    "StatusBlock",
    "StatusSample",
    "TickInfo",
    "TimingRecorder",
    "TimingSnapshot",
    "enter_realtime",
    "leave_realtime",
]
