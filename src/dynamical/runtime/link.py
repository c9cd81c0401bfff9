"""The executive's side of the shared memory: send commands and trajectory segments, read state,
status and events."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from dynamical.runtime.bundle import ChannelBundle
from dynamical.runtime.channels import EventRecord, StateSample, StatusSample


class ExecutiveLink:
    """What tier 1 may do to tier 0. There is no way to write to the driver from here: commands
    go into the ring, and only the realtime node's safety kernel reads them."""

    def __init__(self, channels: ChannelBundle, now: Callable[[], float]) -> None:
        self.channels = channels
        self.now = now
        self._event_seq = 0
        self.events_lost = 0
        # The stop and reset words are single-writer sequence locks: two callers (an e-stop from
        # the link beside one from the agent's own loop) must not interleave their writes. This
        # lock is held for a few stores, never behind planning or a control tick.
        self._request_lock = threading.Lock()

    def send(self, q: np.ndarray, dq: np.ndarray | None = None, tau: np.ndarray | None = None) -> int:
        """Queue joint targets (n,), stamped now; returns the command's sequence number."""
        self.channels.status.beat()
        return self.channels.commands.push(self.now(), q, dq, tau)

    def send_trajectory(self, times: np.ndarray, q: np.ndarray, dq: np.ndarray) -> int:
        """Publish a trajectory segment: samples at ``times`` (k,) s on this link's clock, with
        positions ``q`` and velocities ``dq`` (k, n); the realtime side interpolates it until its
        last sample. Returns the segment's sequence number."""
        self.channels.status.beat()
        return self.channels.trajectory.push(self.now(), times, q, dq)

    def state(self) -> StateSample | None:
        return self.channels.state.read()

    def status(self) -> StatusSample | None:
        return self.channels.status.read_status()

    def estop(self, category: int) -> int:
        """Request an emergency stop of ``category`` (0, 1 or 2, IEC 60204-1)."""
        with self._request_lock:
            return self.channels.status.request_estop(category, self.now())

    def reset(self) -> int:
        """The explicit reset that clears an e-stop or a latched protective stop once stopped."""
        with self._request_lock:
            return self.channels.status.request_reset()

    def events(self) -> list[EventRecord]:
        """Events raised since the last call (oldest first); counts overwritten ones in events_lost."""
        records, lost = self.channels.events.read_since(self._event_seq)
        self.events_lost += lost
        if records:
            self._event_seq = records[-1].seq
        return records
