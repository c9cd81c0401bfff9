"""The safety kernel: limits, zones, separation, watchdog and e-stop, compiled with numba.

numba's on-disk cache keys a compiled function by its own file's timestamp only: a function that
inlines another from a sibling file (``tick_step`` calls ``filter_step.classify``) keeps running
the old machine code after that sibling changes. For the kernel that is unacceptable, so the cache
lives in a directory named by a digest of every source in this package: any change compiles anew.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba


def sources_digest(package_dir: Path) -> str:
    """A short digest of every ``*.py`` in ``package_dir`` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def kernel_cache_dir(package_dir: Path, base: str | None) -> Path:
    """Where this version of the kernel's compiled code is cached: under ``base`` (NUMBA_CACHE_DIR
    when set) or the user's cache directory, in a folder of its own per source digest."""
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dynamical"
    return root / "numba" / f"safety-{sources_digest(package_dir)}"


numba.config.CACHE_DIR = str(kernel_cache_dir(Path(__file__).parent, os.environ.get("NUMBA_CACHE_DIR")))
