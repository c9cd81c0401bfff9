"""Failed authentication, counted per client address: 429 past a limit, and an audit log that
records a burst of failures as two rows (its first failure, then a summary) instead of one per try.

Keys carry 256 bits of entropy, so nobody guesses one; what a flood of bad keys costs is server
time and audit rows. A client past the limit gets 429 with ``Retry-After`` for every further
failure until its window has passed. A request with a *valid* key is still served from that
address: on a shared address (loopback, a NAT) one misconfigured client must not lock the
operator out of the e-stop.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

log = logging.getLogger(__name__)
MAX_TRACKED_CLIENTS = 10_000
"""Beyond this many addresses with recent failures the stalest is forgotten (memory stays bounded)."""


class AuditNote(BaseModel):
    """One audit row the throttle asks for."""

    client: str
    method: str
    path: str
    status_code: int


@dataclass
class _Burst:
    first_at: float
    failures: int
    limited_until: float | None = None


class Verdict(BaseModel):
    """What to answer a failed authentication: 401 (``retry_after_s`` None) or 429."""

    retry_after_s: int | None
    audit: AuditNote | None = None
    """The row to write for this failure, if any."""


class AuthThrottle:
    """Per-address failure counts over a window of ``window_s`` seconds; not thread-safe (one event loop)."""

    def __init__(self, allowed: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.allowed = allowed
        self.window_s = window_s
        self._clock = clock
        self._bursts: OrderedDict[str, _Burst] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may fail again without a 429; None when it is not limited."""
        burst = self._current(client)
        if burst is None or burst.limited_until is None:
            return None
        return max(1, math.ceil(burst.limited_until - self._clock()))

    def failed(self, client: str, method: str, path: str) -> Verdict:
        """Count one failed authentication of ``client``; the answer to give and the row to audit."""
        now = self._clock()
        burst = self._current(client)
        if burst is None:
            self._bursts[client] = _Burst(first_at=now, failures=1)
            self._evict()
            # The first failure of a burst is audited as it happened.
            first = AuditNote(client=client, method=method, path=path, status_code=401)
            return Verdict(retry_after_s=None, audit=first)
        self._bursts.move_to_end(client)
        burst.failures += 1
        if burst.limited_until is not None:
            return Verdict(retry_after_s=max(1, math.ceil(burst.limited_until - now)))
        if burst.failures <= self.allowed:
            return Verdict(retry_after_s=None)
        burst.limited_until = burst.first_at + self.window_s
        retry = max(1, math.ceil(burst.limited_until - now))
        elapsed = now - burst.first_at
        log.warning("client %s: %d failed authentications in %.0f s; answering 429", client, burst.failures, elapsed)
        summary = (
            f"{path} [{burst.failures} failed authentications in {now - burst.first_at:.0f} s; "
            f"further failures answered 429 for {retry} s]"
        )
        summary_row = AuditNote(client=client, method=method, path=summary, status_code=429)
        return Verdict(retry_after_s=retry, audit=summary_row)

    def _current(self, client: str) -> _Burst | None:
        burst = self._bursts.get(client)
        if burst is None:
            return None
        now = self._clock()
        ends = burst.limited_until if burst.limited_until is not None else burst.first_at + self.window_s
        if now >= ends:
            del self._bursts[client]
            return None
        return burst

    def _evict(self) -> None:
        while len(self._bursts) > MAX_TRACKED_CLIENTS:
            self._bursts.popitem(last=False)
