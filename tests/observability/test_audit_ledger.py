"""The audit ledger's chain and signatures: a changed, deleted, reordered or inserted entry is
detected and named, offline, by line and seq."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from dynamical.observability.ledger import GENESIS, AuditLedger, canonical, entry_hash
from dynamical.observability.verify import verify_data_dir


def _ledger(tmp_path: Path, n: int = 20, sign_every: int = 5) -> AuditLedger:
    ledger = AuditLedger(tmp_path, sign_every=sign_every, sign_interval_s=3600)
    for i in range(n):
        ledger.append("request", "dyn_abc", f"POST /api/v1/thing/{i}", {"status_code": 200, "i": i})
    ledger.sign_now()
    return ledger


def _lines(ledger: AuditLedger) -> list[bytes]:
    return ledger.path.read_bytes().splitlines(keepends=True)


def _write(ledger: AuditLedger, lines: list[bytes]) -> None:
    ledger.path.write_bytes(b"".join(lines))


def _seq_of(line: bytes) -> int:
    return json.loads(line)["seq"]


def test_an_untouched_ledger_verifies_with_its_signatures(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    report = verify_data_dir(tmp_path)
    assert report.ok, report.first_bad
    # 1 key entry + 20 requests, and a signature after every 5 entries plus the final one.
    assert report.signatures >= 4
    assert report.unsigned_tail == 0
    assert report.entries == len(_lines(ledger))
    first = json.loads(_lines(ledger)[0])
    assert first["kind"] == "key.generated" and first["prev"] == GENESIS


def test_files_are_private(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, n=2)
    for path in (ledger.path, ledger.path.parent / "ledger-signing.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(ledger.path.parent.stat().st_mode) == 0o700


def test_a_changed_entry_is_named(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    lines = _lines(ledger)
    entry = json.loads(lines[7])
    entry["detail"]["status_code"] = 403
    lines[7] = canonical(entry) + b"\n"
    _write(ledger, lines)
    report = verify_data_dir(tmp_path)
    assert not report.ok
    assert report.first_bad is not None
    assert (report.first_bad.line, report.first_bad.seq) == (8, entry["seq"])
    assert report.first_bad.reason.startswith("changed")


def test_a_changed_entry_with_its_hash_recomputed_breaks_the_chain_or_the_signature(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    lines = _lines(ledger)
    entry = json.loads(lines[3])
    entry["actor"] = "someone-else"
    entry["hash"] = entry_hash(entry)
    lines[3] = canonical(entry) + b"\n"
    _write(ledger, lines)
    report = verify_data_dir(tmp_path)
    assert report.first_bad is not None and report.first_bad.line == 5
    assert "does not chain" in report.first_bad.reason


def test_a_rewritten_chain_is_caught_by_the_next_signature(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    lines = _lines(ledger)
    # Rewrite entry 2 and re-chain everything after it: only the signature can tell.
    prev = json.loads(lines[1])["hash"]
    for i in range(2, len(lines)):
        entry = json.loads(lines[i])
        if i == 2:
            entry["subject"] = "POST /api/v1/forged"
        entry["prev"] = prev
        entry["hash"] = entry_hash(entry)
        prev = entry["hash"]
        lines[i] = canonical(entry) + b"\n"
    _write(ledger, lines)
    report = verify_data_dir(tmp_path)
    assert report.first_bad is not None
    assert json.loads(lines[report.first_bad.line - 1])["kind"] == "signature"
    assert "signature" in report.first_bad.reason


def test_a_deleted_entry_is_named(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    lines = _lines(ledger)
    gone = _seq_of(lines[10])
    del lines[10]
    _write(ledger, lines)
    report = verify_data_dir(tmp_path)
    assert report.first_bad is not None
    assert report.first_bad.line == 11 and report.first_bad.seq == gone + 1
    assert report.first_bad.reason == f"deleted: entry {gone} missing before it"


def test_reordered_entries_are_named(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    lines = _lines(ledger)
    lines[12], lines[13] = lines[13], lines[12]
    _write(ledger, lines)
    report = verify_data_dir(tmp_path)
    assert report.first_bad is not None
    assert report.first_bad.line == 13 and report.first_bad.seq == _seq_of(lines[12])
    assert "deleted" in report.first_bad.reason or "reordered" in report.first_bad.reason


def test_an_inserted_entry_is_named(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    lines = _lines(ledger)
    before = json.loads(lines[8])
    forged = {
        "seq": before["seq"] + 1,
        "at": before["at"],
        "kind": "key.revoked",
        "actor": "admin",
        "subject": "api-key:dyn_forged",
        "detail": {},
        "prev": before["hash"],
    }
    forged["hash"] = entry_hash(forged)
    lines.insert(9, canonical(forged) + b"\n")
    _write(ledger, lines)
    report = verify_data_dir(tmp_path)
    assert report.first_bad is not None
    # The forged line chains perfectly; the genuine entry after it now repeats its seq.
    assert report.first_bad.line == 11
    assert "inserted" in report.first_bad.reason


def test_a_damaged_line_is_named(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    lines = _lines(ledger)
    lines[4] = b'{"seq": 4, "oops\n'
    _write(ledger, lines)
    report = verify_data_dir(tmp_path)
    assert report.first_bad is not None and report.first_bad.line == 5 and report.first_bad.seq is None


def test_a_second_writer_continues_the_chain(tmp_path: Path) -> None:
    first = _ledger(tmp_path, n=3)
    second = AuditLedger(tmp_path, sign_every=5, sign_interval_s=3600)  # another process, same file
    second.append("key.generated", "cli", "api-key:dyn_x", {})
    first.append("request", "dyn_abc", "POST /x", {})
    first.sign_now()
    report = verify_data_dir(tmp_path)
    assert report.ok, report.first_bad


def test_verify_needs_a_ledger(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no audit ledger"):
        verify_data_dir(tmp_path)
