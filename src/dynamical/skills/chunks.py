"""Action chunks: short joint trajectories a policy produces ahead of time, and their playback.

A policy (or a scripted skill) hands the executor an :class:`ActionChunk`, a few hundred
milliseconds of joint position targets. The :class:`ChunkQueue` turns the chunks it has into one
target per control tick, crossfading whenever a newer chunk takes over, so the command never
jumps. A :class:`ChunkSource` produces chunks asynchronously: tier 1 never waits for a policy.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from dynamical.skills.motion import smoothstep


@dataclass(frozen=True)
class ActionChunk:
    """Joint position targets ``q[k]`` for times ``t0 + k·dt``.

    The chunk covers ``[t0, t0 + (H - 1)·dt]``; past its end its last row holds.
    """

    t0: float
    """s, time of the first row (same clock as the executor's ticks)."""
    dt: float
    """s, spacing of the rows."""
    q: np.ndarray
    """(H, n) joint position targets, rad."""
    groups: np.ndarray | None = None
    """(n,) bool, the joints this chunk drives; None: all of them. The others keep whatever the
    queue targeted before."""

    def __post_init__(self) -> None:
        q = np.asarray(self.q, dtype=float)
        if q.ndim != 2 or q.shape[0] < 1:
            raise ValueError(f"chunk q must have shape (H, n) with H >= 1, got {q.shape}")
        if not np.isfinite(q).all():
            raise ValueError("chunk q holds non-finite targets")
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"chunk dt must be > 0 s, got {self.dt}")
        if not np.isfinite(self.t0):
            raise ValueError(f"chunk t0 must be finite, got {self.t0}")
        q.setflags(write=False)  # shared between the queue and whoever made it: keep it as made
        object.__setattr__(self, "q", q)
        if self.groups is not None:
            mask = np.asarray(self.groups, dtype=bool)
            if mask.shape != (q.shape[1],):
                raise ValueError(f"chunk groups mask must have shape ({q.shape[1]},), got {mask.shape}")
            mask.setflags(write=False)
            object.__setattr__(self, "groups", mask)

    @property
    def horizon(self) -> int:
        """H, the number of rows."""
        return int(self.q.shape[0])

    @property
    def n_joints(self) -> int:
        return int(self.q.shape[1])

    @property
    def t_end(self) -> float:
        """s, time of the last row."""
        return self.t0 + (self.horizon - 1) * self.dt

    def at(self, t: float) -> np.ndarray:
        """(n,) the target at ``t``, linear between rows; the first row before ``t0``, the last
        after the end."""
        s = (t - self.t0) / self.dt
        if s <= 0.0:
            return self.q[0].copy()
        k = int(np.floor(s))
        if k >= self.horizon - 1:
            return self.q[-1].copy()
        a = s - k
        return (1.0 - a) * self.q[k] + a * self.q[k + 1]


@dataclass
class _Segment:
    chunk: ActionChunk
    start: float
    """s, when this chunk takes over (its crossfade begins)."""


class ChunkQueue:
    """The chunks being played: ``target(t)`` is the newest chunk that has started, crossfaded
    from what was played before over ``crossfade`` seconds.

    Queries are expected at non-decreasing ``t`` (one per control tick): chunks whose successor
    has fully taken over are dropped.
    """

    def __init__(self, base: np.ndarray, crossfade: float = 0.05) -> None:
        """``base`` (n,): the target before any chunk, and for joints no chunk drives."""
        if not crossfade >= 0:
            raise ValueError(f"crossfade must be >= 0 s, got {crossfade}")
        self.base = np.asarray(base, dtype=float).copy()
        self.crossfade = float(crossfade)
        self._segments: list[_Segment] = []

    @property
    def n_joints(self) -> int:
        return int(self.base.shape[0])

    @property
    def empty(self) -> bool:
        return not self._segments

    @property
    def end_time(self) -> float:
        """s, the last time the queue has a planned target for (−inf when empty)."""
        return max((s.chunk.t_end for s in self._segments), default=-np.inf)

    def clear(self, base: np.ndarray | None = None) -> None:
        """Drop every chunk; ``base`` (n,) replaces the hold target when given."""
        self._segments.clear()
        if base is not None:
            self.base = np.asarray(base, dtype=float).copy()

    def push(self, chunk: ActionChunk, now: float | None = None) -> None:
        """Play ``chunk`` from its ``t0`` on (or from ``now`` when it arrives late), overriding
        what the queue held from then on the joints it drives."""
        if chunk.n_joints != self.n_joints:
            raise ValueError(f"chunk drives {chunk.n_joints} joints, the queue {self.n_joints}")
        segment = _Segment(chunk, chunk.t0 if now is None else max(chunk.t0, now))
        # A queued chunk that would start no earlier, on joints the new one drives too, would
        # never show: the later-produced chunk wins where they overlap.
        self._segments = [
            s for s in self._segments if not (s.start >= segment.start and _covers(chunk.groups, s.chunk.groups))
        ]
        self._segments.append(segment)

    def target(self, t: float) -> np.ndarray:
        """(n,) the joint position target at ``t``, rad (``t`` never goes back between calls:
        chunks that no longer show are dropped)."""
        self._prune(t)
        return self.preview(t)

    def preview(self, t: float) -> np.ndarray:
        """(n,) the target the queue plans for ``t`` (s, now or later), dropping nothing: what
        the executor samples ahead of now for its trajectory segments."""
        # Push order is precedence: each started chunk fades in over what the earlier ones give.
        out = self.base.copy()
        for segment in self._segments:
            if t < segment.start:
                continue
            q = segment.chunk.at(t)
            # Zero slope at both ends of the crossfade: no velocity step where it starts or stops.
            w = 1.0 if self.crossfade == 0 else smoothstep((t - segment.start) / self.crossfade)
            blended = (1.0 - w) * out + w * q
            mask = segment.chunk.groups
            if mask is None:
                out = blended
            else:
                out[mask] = blended[mask]
        return out

    def remaining(self, t: float) -> float:
        """s of planned targets left after ``t`` (0 when the queue has nothing ahead)."""
        return max(self.end_time - t, 0.0)

    def _prune(self, t: float) -> None:
        # Once a chunk has fully faded in, earlier chunks on a subset of its joints no longer
        # show anywhere: drop them, so the queue stays as short as the set of masks in use.
        for i in range(len(self._segments) - 1, 0, -1):
            newest = self._segments[i]
            if t >= newest.start + self.crossfade:
                mask = newest.chunk.groups
                self._segments = [
                    s for j, s in enumerate(self._segments) if j >= i or not _covers(mask, s.chunk.groups)
                ]
                return


def _covers(mask: np.ndarray | None, other: np.ndarray | None) -> bool:
    """Whether the joints of ``other`` are all among those of ``mask`` (None: every joint)."""
    if mask is None:
        return True
    if other is None:
        return bool(mask.all())
    return bool(np.all(mask | ~other))


class ChunkSource(Protocol):
    """Produces action chunks without blocking the control loop."""

    def request(self, t: float, state: Any) -> None:
        """Start producing the chunk for time ``t`` from ``state`` (a ``StateSample``); returns at once."""
        ...

    def poll(self) -> ActionChunk | None:
        """The newest chunk finished since the last poll, or None. Raises what producing it raised."""
        ...


class ThreadedChunkSource:
    """Runs ``fn(t, state) -> ActionChunk`` on a thread pool.

    A thread shares the interpreter lock with the control loop, so this suits light policies
    (and tests). A heavy policy (a network on a GPU, a VLA) belongs in another process, behind
    the same two methods, so it cannot make tier 1 miss its ticks.
    """

    def __init__(self, fn: Any, max_workers: int = 1) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.fn = fn
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="chunk-source")
        self._futures: deque[Future[ActionChunk]] = deque()

    @property
    def pending(self) -> int:
        """Requests not yet returned by :meth:`poll`."""
        return len(self._futures)

    def request(self, t: float, state: Any) -> None:
        self._futures.append(self._pool.submit(self.fn, t, state))

    def poll(self) -> ActionChunk | None:
        newest: ActionChunk | None = None
        # In request order: a later chunk supersedes an earlier one finished in the same poll.
        while self._futures and self._futures[0].done():
            chunk = self._futures.popleft().result()
            if not isinstance(chunk, ActionChunk):
                raise TypeError(f"chunk source returned {type(chunk).__name__}, not an ActionChunk")
            newest = chunk
        return newest

    def close(self) -> None:
        """Stop the pool; requests still running finish, unread results are dropped."""
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> ThreadedChunkSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
