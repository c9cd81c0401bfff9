"""A DYGlove's UDP receiver: decodes datagrams on its own thread, drops old ones, counts every
refusal and gap, keeps the newest sample, and sends haptic commands back to the glove.

Nothing a glove (or anyone who reaches the port) sends can stop it: a bad datagram is counted by
kind (``short``, ``oversized``, ``magic``, ``version``, ``type``, ``crc``, ``value``), a reordered or
duplicated one (sequence number not after the newest) is dropped and counted, and a jump in the
sequence counts the datagrams lost in between.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from pydantic import BaseModel, Field

from dynamical.drivers.dyglove import (
    MAX_DATAGRAM,
    GloveProtocolError,
    GloveSample,
    HapticCommand,
    decode,
    encode_haptic,
    seq_after,
)

CONNECTED_S = 0.5
"""A glove that sent no valid sample for this long counts as disconnected."""


class GloveStats(BaseModel):
    """What the receiver saw, since it started."""

    connected: bool
    received: int = Field(description="datagrams read")
    accepted: int = Field(description="samples taken")
    refused: dict[str, int] = Field(description="datagrams refused, by the check that failed")
    reordered: int = Field(description="samples older than, or equal to, the newest one: dropped")
    lost: int = Field(description="samples missing from the sequence")
    loss_ratio: float = Field(description="lost / (accepted + lost)")
    battery: int | None = None
    side: str | None = None
    last_sample_age_s: float | None = None


class GloveReceiver:
    """Listens on ``host:port`` (0: any free port; see ``port``) until ``close``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        on_sample: Callable[[GloveSample, float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self._socket.settimeout(0.1)
        self.port: int = self._socket.getsockname()[1]
        self.on_sample = on_sample
        """Called on the receiver's thread with each accepted sample and its receipt time
        (``clock``, s): keep it short."""
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: GloveSample | None = None
        self._latest_at: float | None = None
        self._peer: tuple[str, int] | None = None
        self._received = self._accepted = self._reordered = self._lost = 0
        self._refused: dict[str, int] = {}
        self._haptic_seq = 0
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"glove-udp-{self.port}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2.0)
        self._socket.close()

    def __enter__(self) -> GloveReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def latest(self) -> tuple[GloveSample | None, float | None]:
        """The newest sample and when it arrived (``clock`` s)."""
        with self._lock:
            return self._latest, self._latest_at

    def stats(self) -> GloveStats:
        with self._lock:
            age = None if self._latest_at is None else self._clock() - self._latest_at
            total = self._accepted + self._lost
            return GloveStats(
                connected=age is not None and age < CONNECTED_S,
                received=self._received,
                accepted=self._accepted,
                refused=dict(self._refused),
                reordered=self._reordered,
                lost=self._lost,
                loss_ratio=self._lost / total if total else 0.0,
                battery=self._latest.battery if self._latest is not None else None,
                side=self._latest.side if self._latest is not None else None,
                last_sample_age_s=age,
            )

    def send_haptic(self, intensity: tuple[int, int, int, int, int]) -> bool:
        """Per-finger vibration (0-255) to the glove that last sent a sample; False before any."""
        with self._lock:
            peer, latest = self._peer, self._latest
            self._haptic_seq += 1
            seq = self._haptic_seq
        if peer is None or latest is None:
            return False
        command = HapticCommand(seq, int(time.monotonic() * 1e6), latest.side, intensity)
        self._socket.sendto(encode_haptic(command), peer)
        return True

    def take(self, data: bytes, peer: tuple[str, int] | None = None) -> GloveSample | None:
        """Judge one datagram as if it arrived now (the thread calls this for each one)."""
        now = self._clock()
        with self._lock:
            self._received += 1
            try:
                message = decode(data)
            except GloveProtocolError as exc:
                self._refused[exc.kind] = self._refused.get(exc.kind, 0) + 1
                return None
            if not isinstance(message, GloveSample):  # a haptic command sent to us: not a sample
                self._refused["type"] = self._refused.get("type", 0) + 1
                return None
            if self._latest is not None:
                step = seq_after(self._latest.seq, message.seq)
                if step <= 0:
                    self._reordered += 1
                    return None
                self._lost += step - 1
            self._latest, self._latest_at, self._accepted = message, now, self._accepted + 1
            if peer is not None:
                self._peer = peer
        if self.on_sample is not None:
            self.on_sample(message, now)
        return message

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                data, peer = self._socket.recvfrom(MAX_DATAGRAM + 1)  # one byte more: oversized shows
            except TimeoutError:
                continue
            except OSError:
                if self._closed.is_set():
                    return
                continue
            self.take(data, peer)
