"""ZoneMailbox: keep-out zones, executive -> realtime, with the realtime side's answer."""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np
from pydantic import TypeAdapter

from dynamical.runtime.channels.mailbox import AnsweredMailbox
from dynamical.runtime.channels.segments import (
    ChannelError,
    Layout,
    attach_segment,
    check_shape,
    check_size,
    create_segment,
)
from dynamical.safety.config import BoxZone, HalfSpaceZone, Zone

ZONE_PAYLOAD_BYTES = 64 * 1024
"""Default room for one zone list as JSON: 256 zones (the kernel's most) with names of 100+ bytes."""
ZONE_REASON_BYTES = 1024
"""Room for the realtime side's reason when it refuses a list (longer ones are cut)."""

_ZONE_LIST: TypeAdapter[list[BoxZone | HalfSpaceZone]] = TypeAdapter(list[Zone])

_ACK_APPLIED, _ACK_REFUSED = 1, 2


def encode_zones(zones: list[BoxZone | HalfSpaceZone]) -> bytes:
    """The JSON the mailbox carries for ``zones``; TypeError for anything that is not a zone
    (the realtime side validates the values: a zone built with ``model_construct`` gets there)."""
    if isinstance(zones, (str, bytes)) or not isinstance(zones, list):
        raise TypeError(f"zones must be a list of BoxZone or HalfSpaceZone, not {type(zones).__name__}")
    for zone in zones:
        if not isinstance(zone, (BoxZone, HalfSpaceZone)):
            raise TypeError(f"not a keep-out zone: {zone!r}")
    # warnings=False: a zone whose fields were assigned wrong types still serialises, and the
    # realtime side refuses it with the validator's message rather than this side warning.
    return _ZONE_LIST.dump_json(zones, warnings=False)


def decode_zones(payload: bytes) -> list[BoxZone | HalfSpaceZone]:
    """The zones in a mailbox payload; pydantic's ValidationError (a ValueError) when invalid."""
    return _ZONE_LIST.validate_json(payload)


@dataclass(frozen=True)
class ZoneAnswer:
    """The realtime side's answer to one zone list."""

    request: int
    """The request it answers (``ZoneMailbox.post``'s number)."""
    applied: bool
    """True: the kernel took the list, in force from the tick after ``tick``; False: refused, the
    zones in force unchanged."""
    tick: int
    """The tick that took or refused the list."""
    reason: str
    """Why it was refused ("ValueError: ..."); empty when applied."""


class ZoneMailbox(AnsweredMailbox):
    """The complete keep-out zone list from the executive, and the realtime side's answer.

    The executive writes a list (JSON) under a seqlock whose word also numbers the requests: the
    realtime node compares that one word once per tick, and parses only when it changed. The
    answer is a seqlock group of its own on another cache line, written by the realtime side only.
    A newer list posted before the node took the previous one replaces it: only the newest is
    answered (the node applies whole lists, so an intermediate one has nothing left to say).

    The header's capacity word holds the payload size in bytes.
    """

    _KIND = "ZoneMailbox"
    _REASON_BYTES = ZONE_REASON_BYTES

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int, capacity: int) -> None:
        super().__init__(shm, owner, self._layout(capacity))
        self.n_joints = n_joints
        self.capacity = capacity
        self._req_len: np.ndarray  # (1,) int64, payload bytes
        self._payload: np.ndarray  # (capacity,) uint8, JSON

    @classmethod
    def _layout(cls, capacity: int) -> Layout:
        return cls._mailbox_layout([("req_len", (1,), np.int64), ("payload", (capacity,), np.uint8)])

    @classmethod
    def create(cls, name: str | None, n_joints: int, capacity: int = ZONE_PAYLOAD_BYTES) -> ZoneMailbox:
        check_shape(cls._KIND, n_joints, capacity)
        shm = create_segment(name, cls._KIND, cls._layout(capacity), n_joints, capacity)
        return cls(shm, True, n_joints, capacity)

    @classmethod
    def attach(cls, name: str, n_joints: int, capacity: int | None = None) -> ZoneMailbox:
        """``capacity`` None takes the creator's payload size."""
        shm, got = attach_segment(name, cls._KIND, n_joints, capacity)
        check_size(shm, cls._KIND, cls._layout(got))
        return cls(shm, False, n_joints, got)

    # -- executive side ------------------------------------------------------------------------ #

    def post(self, zones: list[BoxZone | HalfSpaceZone]) -> int:
        """Hand the complete zone list to the realtime side; returns the request number (1, 2, ...)
        its answer will carry. ValueError when the list does not fit (nothing is written)."""
        return self.post_payload(encode_zones(zones))

    def post_payload(self, payload: bytes) -> int:
        """Hand ``payload`` (JSON of a zone list) to the realtime side as it is; see ``post``."""
        n = len(payload)
        if n > self.capacity:
            raise ValueError(
                f"the zone list is {n} bytes of JSON; the zone mailbox holds {self.capacity}; "
                "the zones in force are unchanged"
            )

        def fill() -> None:
            self._req_len[0] = n
            self._payload[:n] = np.frombuffer(payload, np.uint8)

        return self._post(fill)

    def answer(self, max_retries: int = 1000) -> ZoneAnswer | None:
        """The realtime side's latest answer; None before its first (or if every retry collided)."""
        got = self._answer(max_retries)
        return None if got is None else ZoneAnswer(got.request, got.status == _ACK_APPLIED, got.tick, got.reason)

    # -- realtime side ------------------------------------------------------------------------- #

    def read_payload(self, word: int) -> bytes | None:
        """A copy of the payload posted as ``word`` (even); None when a newer post is being or
        was written meanwhile (read the word again next tick). ChannelError for a length word
        that no writer of this class leaves."""
        n = int(self._req_len[0])
        if not 0 <= n <= self.capacity:
            if not self._still(word):
                return None
            raise ChannelError(f"the zone mailbox records a payload of {n} bytes; it holds {self.capacity}")
        payload = self._payload[:n].tobytes()
        if not self._still(word):
            return None
        return payload

    def acknowledge(self, request: int, applied: bool, tick: int, reason: str = "") -> None:
        """Answer ``request`` at ``tick``: applied (staged for the next tick) or refused for ``reason``."""
        self._acknowledge(request, _ACK_APPLIED if applied else _ACK_REFUSED, tick, reason)
