"""Atomic file writes: a reader sees the old file or the new one, never a partial one."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to a new temporary file next to ``path`` (same filesystem, so a rename is atomic)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    try:
        # The umask may have removed bits from ``mode``; set exactly what was asked for.
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return temp


def _fsync_dir(directory: Path) -> None:
    # Without this a power loss can forget the rename even though the file's data is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` in one step."""
    temp = _write_temp(path, data, mode)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def create_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` with ``data`` in one step; ``FileExistsError`` if it exists (nothing is overwritten)."""
    temp = _write_temp(path, data, mode)
    try:
        # link() fails when the target exists, where rename() would silently replace it.
        os.link(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    _fsync_dir(path.parent)
