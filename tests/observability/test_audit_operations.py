"""Fleet learning's operations in the audit ledger: keys, encryption, aggregation, decryption and
DP spends go in with validated details, chain and verify like every entry, read back by kind,
and a bad detail (NaN ε, a negative byte count) writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from dynamical.observability.audit_operations import OperationsAudit, spent_by_robot
from dynamical.observability.ledger import AuditLedger, read_entries
from dynamical.observability.verify import verify_data_dir


def test_a_round_of_fleet_operations_is_chained_and_verifies(tmp_path: Path) -> None:
    ledger = AuditLedger(tmp_path, sign_every=4, sign_interval_s=3600)
    audit = OperationsAudit(ledger)
    robots = ["robot:r1", "robot:r2"]
    audit.key("generated", actor="server", key_id="bfv-1", purpose="fleet aggregation", scheme="bfv")
    audit.key("distributed", actor="server", key_id="bfv-1", purpose="fleet aggregation", scheme="bfv", holders=robots)
    for round_id, totals in (("round-1", (0.9, 1.1)), ("round-2", (1.4, 1.6))):
        for robot, total in zip(("r1", "r2"), totals, strict=True):
            audit.dp_spend(robot_id=robot, round_id=round_id, epsilon=0.5, delta=1e-5, epsilon_total=total,
                           noise_multiplier=1.0, sample_rate=0.125, steps=8)  # fmt: skip
            audit.encryption(actor=f"robot:{robot}", round_id=round_id, key_id="bfv-1", scheme="bfv",
                             ciphertexts=3, bytes=196_608)  # fmt: skip
        audit.aggregation(actor="server", round_id=round_id, scheme="bfv", contributors=robots,
                          bytes_in=393_216, bytes_out=196_608)  # fmt: skip
        entry = audit.decryption(actor="robot:r1", round_id=round_id, key_id="bfv-1", scheme="bfv")
    audit.key("rotated", actor="server", key_id="bfv-1", purpose="fleet aggregation", scheme="bfv")
    ledger.sign_now()

    assert entry.kind == "decryption" and entry.subject == "round:round-2"
    report = verify_data_dir(tmp_path)
    assert report.ok, report.first_bad
    spends = read_entries(ledger.path, kind="dp.spend")
    assert [(e["actor"], e["detail"]["round_id"]) for e in spends][:2] == [
        ("robot:r2", "round-2"),
        ("robot:r1", "round-2"),
    ]
    assert {e["kind"] for e in read_entries(ledger.path, limit=1000)} >= {
        "key.generated", "key.distributed", "key.rotated", "encryption", "aggregation", "decryption", "dp.spend",
    }  # fmt: skip
    spent = spent_by_robot(ledger.path)
    assert {r: (s.rounds, s.epsilon_total, s.last_round) for r, s in spent.items()} == {
        "r1": (2, 1.4, "round-2"),
        "r2": (2, 1.6, "round-2"),
    }


def test_a_bad_detail_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    ledger = AuditLedger(tmp_path, sign_every=1000, sign_interval_s=3600)
    audit = OperationsAudit(ledger)
    before = ledger.path.read_bytes()
    with pytest.raises(ValidationError):
        audit.dp_spend(robot_id="r1", round_id="round-1", epsilon=float("nan"), delta=1e-5, epsilon_total=1.0,
                       noise_multiplier=1.0, sample_rate=0.1, steps=1)  # fmt: skip
    with pytest.raises(ValidationError):
        audit.encryption(actor="robot:r1", round_id="round-1", key_id="k", scheme="bfv", ciphertexts=1, bytes=-1)
    with pytest.raises(ValidationError):
        audit.dp_spend(robot_id="r1", round_id="", epsilon=0.1, delta=1.5, epsilon_total=1.0,
                       noise_multiplier=1.0, sample_rate=0.1, steps=1)  # fmt: skip
    assert ledger.path.read_bytes() == before
    # A line that is not an entry is skipped by the spend summary (verify names it).
    with open(ledger.path, "ab") as handle:
        handle.write(b"not json\n" + json.dumps({"kind": "dp.spend", "subject": "robot:x"}).encode() + b"\n")
    assert spent_by_robot(ledger.path) == {}


def test_metrics_count_the_ledgers_fleet_entries_incrementally(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from dynamical.observability.metrics import ServerMetrics

    ledger = AuditLedger(tmp_path, sign_every=1000, sign_interval_s=3600)
    audit = OperationsAudit(ledger)
    metrics = ServerMetrics(lambda: [], lambda: {}, ledger.path)

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        families = text_string_to_metric_families(metrics.render().decode())
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}

    assert scrape()[("dynamical_fl_rounds_total", ())] == 0.0
    audit.encryption(actor="robot:r1", round_id="round-1", key_id="k", scheme="bfv", ciphertexts=2, bytes=1000)
    audit.aggregation(actor="server", round_id="round-1", scheme="bfv", contributors=["robot:r1"],
                      bytes_in=1000, bytes_out=500)  # fmt: skip
    audit.dp_spend(robot_id="r1", round_id="round-1", epsilon=0.5, delta=1e-5, epsilon_total=0.5,
                   noise_multiplier=1.0, sample_rate=0.1, steps=4)  # fmt: skip
    first = scrape()
    assert first[("dynamical_fl_rounds_total", ())] == 1.0
    assert first[("dynamical_fl_aggregation_bytes_total", (("direction", "in"),))] == 1000.0
    assert first[("dynamical_fl_encrypted_bytes_total", (("actor", "robot:r1"),))] == 1000.0
    assert first[("dynamical_fl_dp_epsilon", (("robot", "r1"),))] == 0.5
    assert first[("dynamical_fl_key_operations_total", (("operation", "generated"),))] == 1.0  # the ledger's own key

    audit.aggregation(actor="server", round_id="round-2", scheme="bfv", contributors=["robot:r1"],
                      bytes_in=10, bytes_out=5)  # fmt: skip
    audit.dp_spend(robot_id="r1", round_id="round-2", epsilon=0.3, delta=1e-5, epsilon_total=0.7,
                   noise_multiplier=1.0, sample_rate=0.1, steps=4)  # fmt: skip
    with open(ledger.path, "ab") as handle:  # a line still being written counts at the next scrape
        handle.write(b'{"kind":"aggregation","detail":{"bytes_in":7')
    second = scrape()
    assert second[("dynamical_fl_rounds_total", ())] == 2.0
    assert second[("dynamical_fl_aggregation_bytes_total", (("direction", "out"),))] == 505.0
    assert second[("dynamical_fl_dp_epsilon", (("robot", "r1"),))] == 0.7
