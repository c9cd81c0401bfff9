"""Offline check of the audit ledger (``ledger.py``): the chain, the sequence and the signatures.

The first inconsistency is named by its line and seq, with what is wrong: a changed entry (its
hash does not match its content), a deleted one (a seq is missing), a reordered or inserted one
(a seq out of order or repeated, or a ``prev`` that is not the hash before it), or a signature
that does not verify. A chain rewritten from some entry on (hashes recomputed) is caught by the
first signature after it, which no longer matches the head it signed.

Entries after the last signature are chained but not yet signed: the report says how many
(an attacker with the file could cut those off unnoticed; the server signs at least every
``SIGN_INTERVAL_S``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel

from dynamical.observability.ledger import (
    GENESIS,
    SIGNATURE_KIND,
    entry_hash,
    fingerprint,
    ledger_paths,
    load_public_key,
    signed_message,
)

FIELDS = {"seq", "at", "kind", "actor", "subject", "detail", "prev", "hash"}


class BadEntry(BaseModel):
    line: int
    """1-based line number in the file."""
    seq: int | None
    """The seq the line claims (None when it cannot be read)."""
    reason: str


class VerifyReport(BaseModel):
    path: str
    ok: bool
    entries: int
    """Lines checked (up to and including the first bad one)."""
    signatures: int
    """Signatures that verified."""
    unsigned_tail: int
    """Entries after the last valid signature."""
    key_id: str
    first_bad: BadEntry | None
    seconds: float
    entries_per_s: float


def verify_file(path: Path, public_key: Ed25519PublicKey) -> VerifyReport:
    """Check every line of the ledger at ``path`` against ``public_key``."""
    t0 = time.perf_counter()
    key_id = fingerprint(public_key)
    expected_seq, prev = 0, GENESIS
    signatures, since_signature, count = 0, 0, 0
    bad: BadEntry | None = None
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            count = number
            entry, bad = _check(number, raw, expected_seq, prev, public_key, key_id)
            if bad is not None:
                break
            expected_seq, prev = entry["seq"] + 1, entry["hash"]
            if entry["kind"] == SIGNATURE_KIND:
                signatures += 1
                since_signature = 0
            else:
                since_signature += 1
    seconds = time.perf_counter() - t0
    return VerifyReport(
        path=str(path),
        ok=bad is None,
        entries=count,
        signatures=signatures,
        unsigned_tail=since_signature,
        key_id=key_id,
        first_bad=bad,
        seconds=round(seconds, 6),
        entries_per_s=round(count / seconds, 1) if seconds > 0 else 0.0,
    )


def verify_data_dir(data_dir: Path, public_key_path: Path | None = None) -> VerifyReport:
    """``verify_file`` on ``data_dir``'s ledger, with its public key (or ``public_key_path``: a
    key kept elsewhere, so that someone who can write the data dir cannot swap both)."""
    ledger, _, public = ledger_paths(data_dir)
    if not ledger.exists():
        raise FileNotFoundError(f"no audit ledger at {ledger}")
    key_path = public_key_path or public
    if not key_path.exists():
        raise FileNotFoundError(f"no ledger public key at {key_path}")
    return verify_file(ledger, load_public_key(key_path))


def _check(
    number: int, raw: bytes, expected_seq: int, prev: str, public_key: Ed25519PublicKey, key_id: str
) -> tuple[Any, BadEntry | None]:
    """The parsed entry, and what is wrong with it (None when nothing)."""
    try:
        entry: Any = json.loads(raw)
    except ValueError:
        return None, BadEntry(line=number, seq=None, reason="not a JSON object (the line was damaged)")
    return entry, _check_entry(number, entry, expected_seq, prev, public_key, key_id)


def _check_entry(
    number: int, entry: Any, expected_seq: int, prev: str, public_key: Ed25519PublicKey, key_id: str
) -> BadEntry | None:
    if not isinstance(entry, dict) or set(entry) != FIELDS:
        return BadEntry(line=number, seq=None, reason=f"not a ledger entry (fields {sorted(entry)[:10]})")
    seq = entry["seq"]
    if not isinstance(seq, int):
        return BadEntry(line=number, seq=None, reason="its seq is not an integer")
    if entry_hash(entry) != entry["hash"]:
        return BadEntry(line=number, seq=seq, reason="changed: its hash does not match its content")
    if seq > expected_seq:
        missing = f"entry {expected_seq}" if seq == expected_seq + 1 else f"entries {expected_seq}..{seq - 1}"
        return BadEntry(line=number, seq=seq, reason=f"deleted: {missing} missing before it")
    if seq < expected_seq:
        return BadEntry(
            line=number, seq=seq, reason=f"reordered or inserted: seq {seq} where {expected_seq} was expected"
        )
    if entry["prev"] != prev:
        return BadEntry(line=number, seq=seq, reason="inserted or reordered: it does not chain to the entry before it")
    if entry["kind"] == SIGNATURE_KIND:
        return _check_signature(number, seq, entry["detail"], prev, expected_seq, public_key, key_id)
    return None


def _check_signature(
    number: int,
    seq: int,
    detail: Any,
    prev: str,
    expected_seq: int,
    public_key: Ed25519PublicKey,
    key_id: str,
) -> BadEntry | None:
    if not isinstance(detail, dict) or not {"through", "head", "key", "sig"} <= set(detail):
        return BadEntry(line=number, seq=seq, reason="a signature entry without through/head/key/sig")
    if detail["key"] != key_id:
        return BadEntry(line=number, seq=seq, reason=f"signed by key {detail['key']}, not {key_id}")
    if detail["through"] != expected_seq - 1 or detail["head"] != prev:
        return BadEntry(line=number, seq=seq, reason="the signature is not over the entries before it")
    try:
        public_key.verify(bytes.fromhex(detail["sig"]), signed_message(detail["through"], detail["head"]))
    except (InvalidSignature, ValueError):
        return BadEntry(
            line=number,
            seq=seq,
            reason="the signature does not verify: entries before it were rewritten, or it was forged",
        )
    return None
