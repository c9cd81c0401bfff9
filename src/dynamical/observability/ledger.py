"""The tamper-evident audit ledger: an append-only JSON-lines file, each entry hash-chained to the
one before it, with an Ed25519 signature over the chain's head every ``SIGN_EVERY`` entries or
``SIGN_INTERVAL_S`` seconds (whichever comes first) and when the ledger is closed.

Why a file and not a table: the ledger must be checkable offline (``dynamical audit verify``),
by someone who does not trust the server's database, and nothing but appends ever touch it.
Several processes may append (the server, ``dynamical keys …``): each append holds an exclusive
``flock`` on the file and re-reads the head when another process wrote since its last append.

An entry (one line, keys sorted, no spaces)::

    {"actor": "...", "at": "2026-12-07T12:00:00.000000+00:00", "detail": {...}, "hash": "<sha256>",
     "kind": "skill.uploaded", "prev": "<hash of the entry before>", "seq": 41, "subject": "..."}

``hash`` is the SHA-256 of the entry's canonical JSON without ``hash``. The first entry's
``prev`` is ``GENESIS``. A signature entry has kind ``signature`` and ``detail`` =
``{"through": seq, "head": hash, "key": fingerprint, "sig": hex}``: the Ed25519 signature of
``"dynamical-audit-v1:{through}:{head}"``; it is chained like any other entry.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

LEDGER_DIR = "audit"
LEDGER_FILE = "ledger.jsonl"
SIGNING_KEY_FILE = "ledger-signing.key"
PUBLIC_KEY_FILE = "ledger-signing.pub"
GENESIS = "0" * 64
SIGN_EVERY = 256
"""Entries between two signatures at most."""
SIGN_INTERVAL_S = 10.0
"""s: an entry appended this long after the last signature is signed at once."""
SIGNATURE_KIND = "signature"
FILE_MODE = 0o600
DIR_MODE = 0o700


class LedgerEntry(BaseModel):
    """One line of the ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=0)
    at: str
    """UTC, ISO 8601."""
    kind: str
    """What happened: ``key.generated``, ``skill.uploaded``, ``estop``, ``request`` … (``events.py``)."""
    actor: str
    """Who did it: an API key prefix, ``robot:<id>``, ``cli``, ``server``, ``anonymous``."""
    subject: str
    """What it was done to: a key prefix, a skill version, a robot, a path."""
    detail: dict[str, Any]
    prev: str
    hash: str


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes an entry's hash covers: its JSON with sorted keys and no whitespace."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 (hex) of ``fields`` without ``hash``."""
    return hashlib.sha256(canonical({k: v for k, v in fields.items() if k != "hash"})).hexdigest()


def signed_message(through: int, head: str) -> bytes:
    return f"dynamical-audit-v1:{through}:{head}".encode()


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def ledger_paths(data_dir: Path) -> tuple[Path, Path, Path]:
    """(ledger, private signing key, public key) under ``data_dir``."""
    root = data_dir / LEDGER_DIR
    return root / LEDGER_FILE, root / SIGNING_KEY_FILE, root / PUBLIC_KEY_FILE


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _signing_key(key_path: Path, public_path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The ledger's signing key, made (0600) on first use; True when it was just made."""
    if key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{key_path} is not an Ed25519 private key")
        return key, False
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        _write_private(key_path, pem)
    except FileExistsError:  # another process made it between our check and our write
        return _signing_key(key_path, public_path)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public_path.write_bytes(public)
    return key, True


@dataclass
class _Head:
    seq: int
    """Seq of the last entry (-1: empty ledger)."""
    hash: str
    size: int
    """File size after the last entry, bytes: another process appended when it differs."""
    unsigned: int
    """Entries after the last signature."""
    signed_at: float
    """time.monotonic() of the last signature (or of opening)."""


class AuditLedger:
    """Appends entries to ``<data_dir>/audit/ledger.jsonl``; thread- and process-safe."""

    def __init__(self, data_dir: Path, *, sign_every: int = SIGN_EVERY, sign_interval_s: float = SIGN_INTERVAL_S):
        self.path, key_path, self.public_key_path = ledger_paths(data_dir)
        self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(self.path.parent, DIR_MODE)
        self.sign_every = sign_every
        self.sign_interval_s = sign_interval_s
        self._lock = threading.Lock()
        self._key, made = _signing_key(key_path, self.public_key_path)
        self.key_id = fingerprint(self._key.public_key())
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        os.close(fd)
        os.chmod(self.path, FILE_MODE)
        self._head = _Head(-1, GENESIS, -1, 0, time.monotonic())
        if made:
            self.append("key.generated", "server", f"audit-ledger:{self.key_id}", {"purpose": "audit ledger signing"})

    def append(self, kind: str, actor: str, subject: str, detail: dict[str, Any] | None = None) -> LedgerEntry:
        """Add one entry (and a signature after it when one is due); returns the entry."""
        with self._lock, open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._catch_up(handle)
                entry = self._write(handle, kind, actor, subject, detail or {})
                if self._head.unsigned >= self.sign_every or (
                    time.monotonic() - self._head.signed_at >= self.sign_interval_s
                ):
                    self._sign(handle)
                return entry
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def sign_now(self) -> None:
        """Sign the head unless it is signed already (at close, and before a verify of a live ledger)."""
        with self._lock, open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._catch_up(handle)
                if self._head.unsigned > 0:
                    self._sign(handle)
                # A checkpoint (close, verify): on the disk before it returns. Appends do not
                # wait for the disk (an fsync costs milliseconds, the append budget is one).
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _catch_up(self, handle: Any) -> None:
        """Re-read the head when the file is not as this process left it (another writer, or first use)."""
        size = os.fstat(handle.fileno()).st_size
        if size == self._head.size:
            return
        seq, head, unsigned = -1, GENESIS, 0
        if size > 0:
            handle.seek(max(0, size - 65536))
            lines = handle.read().splitlines()
            last = json.loads(lines[-1])
            seq, head = int(last["seq"]), str(last["hash"])
            for line in reversed(lines[1:] if size > 65536 else lines):  # the first may be cut
                if b'"kind":"signature"' in line:
                    break
                unsigned += 1
        self._head = _Head(seq, head, size, unsigned, self._head.signed_at)

    def _write(self, handle: Any, kind: str, actor: str, subject: str, detail: dict[str, Any]) -> LedgerEntry:
        fields: dict[str, Any] = {
            "seq": self._head.seq + 1,
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "kind": kind,
            "actor": actor,
            "subject": subject,
            "detail": detail,
            "prev": self._head.hash,
        }
        fields["hash"] = entry_hash(fields)
        line = canonical(fields) + b"\n"
        handle.write(line)
        handle.flush()
        self._head.seq, self._head.hash = fields["seq"], fields["hash"]
        self._head.size += len(line)
        self._head.unsigned += 1
        return LedgerEntry.model_validate(fields)

    def _sign(self, handle: Any) -> None:
        through, head = self._head.seq, self._head.hash
        sig = self._key.sign(signed_message(through, head)).hex()
        detail = {"through": through, "head": head, "key": self.key_id, "sig": sig}
        self._write(handle, SIGNATURE_KIND, "server", f"entries 0..{through}", detail)
        self._head.unsigned = 0
        self._head.signed_at = time.monotonic()


_ledgers: dict[str, AuditLedger] = {}
_ledgers_lock = threading.Lock()


def ledger_at(data_dir: Path) -> AuditLedger:
    """The process's one ledger for ``data_dir`` (opened on first use)."""
    key = str(data_dir.resolve())
    with _ledgers_lock:
        ledger = _ledgers.get(key)
        if ledger is None:
            ledger = _ledgers[key] = AuditLedger(data_dir)
        return ledger


def read_entries(path: Path, offset: int = 0, limit: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
    """Entries from the newest back (``offset`` skips the newest), optionally of one kind; lines
    that do not parse are skipped (``verify`` names them)."""
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    skipped = 0
    with open(path, "rb") as handle:
        lines = handle.read().splitlines()
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if kind is not None and entry.get("kind") != kind:
            continue
        if skipped < offset:
            skipped += 1
            continue
        out.append(entry)
        if len(out) >= limit:
            break
    return out
