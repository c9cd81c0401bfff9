"""What the attacker of issue 18 sends: raw HTTP requests with large bodies, and a watch on the
server process's memory while it does.

``send_body`` writes the request with a plain socket so that nothing buffers or retries for it:
headers, then the body in chunks (declared with Content-Length or sent chunked), reading the
answer as soon as the server gives one, and stopping there (a server that answered does not have
to read the rest, and one that stops reading must have answered).
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

CHUNK = 64 * 1024
MiB = 1024 * 1024


def _status(head: bytes) -> int:
    line = head.split(b"\r\n", 1)[0].split()
    return int(line[1])


def send_body(
    host: str,
    port: int,
    path: str,
    *,
    total: int,
    headers: dict[str, str] | None = None,
    chunked: bool = False,
    tls: ssl.SSLContext | None = None,
    timeout_s: float = 60.0,
) -> tuple[int, int]:
    """POST ``total`` bytes to ``path``; (the status the server answered, body bytes sent by then)."""
    raw = socket.create_connection((host, port), timeout=timeout_s)
    sock = tls.wrap_socket(raw, server_hostname=host) if tls is not None else raw
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    sent = 0
    answer = b""
    deadline = time.monotonic() + timeout_s
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        payload = b"x" * CHUNK
        while sent < total and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable or (tls is not None and sock.pending()):
                received = _recv_now(sock)
                if received is not None:  # an answer, or b"" for a closed connection
                    answer = received
                    break
            if writable:
                size = min(CHUNK, total - sent)
                data = payload[:size]
                sock.sendall(f"{size:x}\r\n".encode() + data + b"\r\n" if chunked else data)
                sent += size
        if not answer:
            if chunked and sent >= total:
                sock.sendall(b"0\r\n\r\n")
            sock.settimeout(max(1.0, deadline - time.monotonic()))
            answer = sock.recv(65536)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        # The server closed while we wrote: its answer, if any, is already in our buffer.
        try:
            sock.settimeout(2.0)
            answer = answer or sock.recv(65536)
        except OSError:
            pass
    finally:
        sock.close()
    if not answer:
        raise AssertionError(f"no answer from the server after {sent} body bytes")
    return _status(answer), sent


def _recv_now(sock: socket.socket) -> bytes | None:
    """What can be read without waiting; None when nothing (TLS 1.3 sends session tickets after
    the handshake: the socket is readable, yet holds no answer, and a blocking read would wait
    for one the server sends only once it has the body)."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(65536)
    except (ssl.SSLWantReadError, BlockingIOError):
        return None
    finally:
        sock.settimeout(timeout)


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


@contextmanager
def peak_growth(pid: int) -> Iterator[Callable[[], int]]:
    """Within the block, how far above its resident memory at the start ``pid`` went (bytes).

    The kernel's own high-water mark (VmHWM, reset through /proc/PID/clear_refs) sees every
    peak, however short; where that file cannot be written, a thread samples VmRSS every ms."""
    clear = Path(f"/proc/{pid}/clear_refs")
    try:
        clear.write_text("5")
        exact = True
    except OSError:
        exact = False
    start = rss_kib(pid)
    samples = [start]
    stop = False
    if not exact:
        import threading

        def sample() -> None:
            while not stop:
                samples.append(rss_kib(pid))
                time.sleep(0.001)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

    def growth() -> int:
        peak = rss_kib(pid, "VmHWM") if exact else max(samples)
        return (peak - start) * 1024

    try:
        yield growth
    finally:
        stop = True


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
