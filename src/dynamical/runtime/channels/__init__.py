"""Shared-memory channels between the executive (tier 1) and the realtime process (tier 0).

Every channel is one ``multiprocessing.shared_memory`` segment: a 64-byte header (magic, layout
version, n_joints, capacity, size) followed by numpy arrays, each starting on its own 64-byte
line so that fields written by different processes never share a cache line.

Each field group has exactly one writer, and readers never block it: a reader copies, then checks
a sequence number the writer bumps around its writes (a seqlock, or a per-slot sequence in the
rings) and retries or discards the copy when the writer touched it meanwhile. This relies on the
writer's stores becoming visible in program order, which x86-64 guarantees (TSO); every write here
is a separate numpy call, so the compiler cannot reorder them either. Weakly ordered CPUs (ARM)
would need explicit fences, which pure Python cannot issue.

Timestamps are float64 seconds of ``time.monotonic()``, which is one clock for every process on
the machine. Values pass through unchanged, NaN and infinities included: rejecting them is the
safety kernel's job, not the channel's.

The package holds one module per channel kind; ``segments`` holds what they share (creation,
attachment, layout). Import from the package: ``from dynamical.runtime.channels import X``.
"""

from dynamical.runtime.channels.commands import CommandRing, CommandSlot
from dynamical.runtime.channels.events import EventRecord, EventRing, event_dtype
from dynamical.runtime.channels.segments import (
    LAYOUT_VERSION,
    ChannelError,
    Layout,
    MappedSegment,
    attach_segment,
    check_size,
    create_segment,
    read_header,
    unlink_segment,
)
from dynamical.runtime.channels.state import StateSample, StateSnapshot
from dynamical.runtime.channels.status import StatusBlock, StatusSample
from dynamical.runtime.channels.trajectory import SEGMENT_SAMPLES, TrajectoryRing, TrajectorySegment
from dynamical.runtime.channels.world import WorldSample, WorldState
from dynamical.runtime.channels.world_reset import WorldResetAnswer, WorldResetMailbox
from dynamical.runtime.channels.zones import (
    ZONE_PAYLOAD_BYTES,
    ZONE_REASON_BYTES,
    ZoneAnswer,
    ZoneMailbox,
    decode_zones,
    encode_zones,
)

__all__ = [
    "LAYOUT_VERSION",
    "SEGMENT_SAMPLES",
    "ZONE_PAYLOAD_BYTES",
    "ZONE_REASON_BYTES",
    "ChannelError",
    "CommandRing",
    "CommandSlot",
    "EventRecord",
    "EventRing",
    "Layout",
    "MappedSegment",
    "StateSample",
    "StateSnapshot",
    "StatusBlock",
    "StatusSample",
    "TrajectoryRing",
    "TrajectorySegment",
    "WorldResetAnswer",
    "WorldResetMailbox",
    "WorldSample",
    "WorldState",
    "ZoneAnswer",
    "ZoneMailbox",
    "attach_segment",
    "check_size",
    "create_segment",
    "decode_zones",
    "encode_zones",
    "event_dtype",
    "read_header",
    "unlink_segment",
]
