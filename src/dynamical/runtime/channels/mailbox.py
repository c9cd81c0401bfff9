"""AnsweredMailbox: one request from the executive and the realtime side's answer to it, the shape
the keep-out zone list and the world reset share.

The executive writes a request under a seqlock whose word also numbers the requests; the realtime
side compares that one word once per tick and reads the request only when it changed. The answer
(request number, a status code, the tick, a reason) is a seqlock group of its own on another
cache line, written by the realtime side only. A newer request posted before the realtime side
took the previous one replaces it: only the newest is answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from typing import Any, ClassVar

import numpy as np

from dynamical.runtime.channels.segments import Layout, MappedSegment, SeqLock


@dataclass(frozen=True)
class MailboxAnswer:
    """The realtime side's answer as stored: the request it answers, its status code (what the
    code means is the mailbox's), the tick that answered, and a reason (empty when none)."""

    request: int
    status: int
    tick: int
    reason: str


class AnsweredMailbox(MappedSegment):
    """Base of the request/answer mailboxes. A subclass lays out its request's fields with
    ``_mailbox_layout`` (each then an attribute ``_<name>``) and sizes its answer's reason with
    ``_REASON_BYTES``."""

    _REASON_BYTES: ClassVar[int] = 1024

    def __init__(self, shm: SharedMemory, owner: bool, layout: Layout) -> None:
        super().__init__(shm, owner)
        views = layout.map(shm)
        self._req_word = views.pop("req_seq")  # (1,) int64: odd while written; request = word >> 1
        self._request_lock = SeqLock(self._req_word)
        self._answer_lock = SeqLock(views.pop("ack_seq"))
        self._ack_ints = views.pop("ack_ints")  # (4,) int64: request, status, tick, reason bytes
        self._ack_reason = views.pop("ack_reason")  # (_REASON_BYTES,) uint8, UTF-8
        # The request's own fields as attributes "_<name>": views kept anywhere else (a dict)
        # would escape ``close``, which must drop every view before unmapping.
        for name, view in views.items():
            setattr(self, f"_{name}", view)

    @classmethod
    def _mailbox_layout(cls, request_fields: list[tuple[str, tuple[int, ...], Any]]) -> Layout:
        """The request word, the request's fields, then the answer group (in this order: the
        byte layout is part of ``LAYOUT_VERSION``)."""
        layout = Layout()
        layout.add("req_seq", (1,), np.int64)
        for name, shape, dtype in request_fields:
            layout.add(name, shape, dtype)
        layout.add("ack_seq", (1,), np.int64)
        layout.add("ack_ints", (4,), np.int64)
        layout.add("ack_reason", (cls._REASON_BYTES,), np.uint8)
        return layout

    # -- executive side ------------------------------------------------------------------------ #

    def _post(self, fill: Callable[[], None]) -> int:
        """Write a request with ``fill`` (the request's stores); returns its number (1, 2, ...)."""
        return self._request_lock.write(fill) >> 1

    def _answer(self, max_retries: int) -> MailboxAnswer | None:
        """The latest answer; None before the first (or when every retry collided)."""

        def copy(_: int) -> tuple[list[int], bytes]:
            ints = self._ack_ints.tolist()
            return ints, self._ack_reason[: max(0, min(ints[3], self._REASON_BYTES))].tobytes()

        copied = self._answer_lock.read(copy, max_retries)
        if copied is None:
            return None
        (request, status, tick, _), reason = copied
        return MailboxAnswer(request, status, tick, reason.decode("utf-8", "replace"))

    # -- realtime side ------------------------------------------------------------------------- #

    def request_word(self) -> int:
        """The request word, for the once-per-tick check: it changes with every post, odd while
        one is being written. ``word >> 1`` is the request number."""
        return int(self._req_word[0])

    def _still(self, word: int) -> bool:
        """True while no newer request was (or is being) written since ``word``."""
        return int(self._req_word[0]) == word

    def _acknowledge(self, request: int, status: int, tick: int, reason: str) -> None:
        data = reason.encode("utf-8", "replace")[: self._REASON_BYTES]  # a cut character decodes as U+FFFD

        def fill() -> None:
            self._ack_reason[: len(data)] = np.frombuffer(data, np.uint8)
            self._ack_ints[:] = (request, status, tick, len(data))

        self._answer_lock.write(fill)
