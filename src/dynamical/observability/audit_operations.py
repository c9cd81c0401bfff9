"""The audit ledger's operations that are not database writes: keys, encryption, aggregation,
decryption and differential-privacy spends of federated learning, artifacts signed. Callers
(``fleet/``, the artifact packager) record each operation here; the entry's ``detail`` is
validated first, so the ledger never holds a NaN budget or a negative byte count.

Use::

    from dynamical.observability.audit_operations import OperationsAudit

    audit = OperationsAudit.at(data_dir)          # the process's ledger of data_dir
    audit.key("generated", actor="server", key_id="bfv-7f3a", purpose="fleet aggregation", scheme="bfv")
    audit.key("distributed", actor="server", key_id="bfv-7f3a", purpose="fleet aggregation",
              scheme="bfv", holders=["robot:r1", "robot:r2"])
    audit.encryption(actor="robot:r1", round_id="round-3", key_id="bfv-7f3a", scheme="bfv",
                     ciphertexts=12, bytes=786_432)
    audit.aggregation(actor="server", round_id="round-3", scheme="bfv",
                      contributors=["robot:r1", "robot:r2"], bytes_in=1_572_864, bytes_out=786_432)
    audit.decryption(actor="robot:r1", round_id="round-3", key_id="bfv-7f3a", scheme="bfv")
    audit.dp_spend(robot_id="r1", round_id="round-3", epsilon=0.41, delta=1e-5, epsilon_total=3.79,
                   noise_multiplier=1.0, sample_rate=0.125, steps=8)

Each returns the ``LedgerEntry`` written (its ``seq`` and ``hash`` can go in the caller's own
records). A detail that does not validate raises ``pydantic.ValidationError`` and writes nothing.
Read them back with ``GET /api/v1/audit?kind=dp.spend`` or ``read_entries``; ``dynamical audit
verify`` checks them with the rest of the chain; ``spent_by_robot`` sums a ledger's DP spends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dynamical.observability.ledger import AuditLedger, LedgerEntry, ledger_at

KINDS = (
    "key.generated",
    "key.revoked",
    "key.rotated",
    "key.distributed",
    "skill.signed",
    "skill.uploaded",
    "skill.deprecated",
    "skill.refused",
    "skill.deploy_requested",
    "skill.deployed",
    "estop",
    "reset",
    "encryption",
    "aggregation",
    "decryption",
    "dp.spend",
    "request",
    "link",
)
"""Every kind of entry the ledger holds besides its signatures (README: "Audit ledger")."""

KeyOp = Literal["generated", "rotated", "distributed", "revoked"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class _Detail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class KeyDetail(_Detail):
    purpose: str = Field(min_length=1, max_length=256, description="what the key is for")
    scheme: str | None = Field(None, max_length=64, description="bfv, ckks, ed25519, x25519 …")
    holders: list[str] = Field([], max_length=10_000, description="who received it (distributed)")
    public_fingerprint: str | None = Field(None, max_length=128)
    """Never key material: a fingerprint (hash) of the public half at most."""


class EncryptionDetail(_Detail):
    round_id: Name
    key_id: Name
    scheme: str = Field(min_length=1, max_length=64)
    ciphertexts: int = Field(ge=0)
    bytes: int = Field(ge=0)


class AggregationDetail(_Detail):
    round_id: Name
    scheme: str = Field(min_length=1, max_length=64)
    contributors: list[str] = Field(max_length=10_000)
    bytes_in: int = Field(ge=0)
    bytes_out: int = Field(ge=0)


class DecryptionDetail(_Detail):
    round_id: Name
    key_id: Name
    scheme: str = Field(min_length=1, max_length=64)


class DpSpendDetail(_Detail):
    round_id: Name
    epsilon: float = Field(ge=0.0, description="ε this round spent")
    delta: float = Field(gt=0.0, lt=1.0)
    epsilon_total: float = Field(ge=0.0, description="the robot's ε after this round, at delta")
    noise_multiplier: float = Field(ge=0.0)
    sample_rate: float = Field(gt=0.0, le=1.0)
    steps: int = Field(ge=0)
    accountant: str = Field("rdp", max_length=32)


class OperationsAudit:
    """Typed appends of privacy and key operations to one audit ledger."""

    def __init__(self, ledger: AuditLedger) -> None:
        self.ledger = ledger

    @classmethod
    def at(cls, data_dir: Path) -> OperationsAudit:
        """The audit of ``data_dir``'s ledger (the process's one ledger for it)."""
        return cls(ledger_at(data_dir))

    def key(
        self,
        op: KeyOp,
        *,
        actor: str,
        key_id: str,
        purpose: str,
        scheme: str | None = None,
        holders: list[str] | None = None,
        public_fingerprint: str | None = None,
    ) -> LedgerEntry:
        """A key generated, rotated, distributed (to ``holders``) or revoked."""
        detail = KeyDetail(purpose=purpose, scheme=scheme, holders=holders or [], public_fingerprint=public_fingerprint)
        return self._append(f"key.{op}", actor, f"key:{key_id}", detail)

    def encryption(
        self, *, actor: str, round_id: str, key_id: str, scheme: str, ciphertexts: int, bytes: int
    ) -> LedgerEntry:
        detail = EncryptionDetail(round_id=round_id, key_id=key_id, scheme=scheme, ciphertexts=ciphertexts, bytes=bytes)
        return self._append("encryption", actor, f"round:{round_id}", detail)

    def aggregation(
        self, *, actor: str, round_id: str, scheme: str, contributors: list[str], bytes_in: int, bytes_out: int
    ) -> LedgerEntry:
        detail = AggregationDetail(
            round_id=round_id, scheme=scheme, contributors=contributors, bytes_in=bytes_in, bytes_out=bytes_out
        )
        return self._append("aggregation", actor, f"round:{round_id}", detail)

    def decryption(self, *, actor: str, round_id: str, key_id: str, scheme: str) -> LedgerEntry:
        detail = DecryptionDetail(round_id=round_id, key_id=key_id, scheme=scheme)
        return self._append("decryption", actor, f"round:{round_id}", detail)

    def dp_spend(
        self,
        *,
        robot_id: str,
        round_id: str,
        epsilon: float,
        delta: float,
        epsilon_total: float,
        noise_multiplier: float,
        sample_rate: float,
        steps: int,
        accountant: str = "rdp",
    ) -> LedgerEntry:
        """One robot's differential-privacy spend for one round (the robot is the actor and subject)."""
        detail = DpSpendDetail(
            round_id=round_id,
            epsilon=epsilon,
            delta=delta,
            epsilon_total=epsilon_total,
            noise_multiplier=noise_multiplier,
            sample_rate=sample_rate,
            steps=steps,
            accountant=accountant,
        )
        return self._append("dp.spend", f"robot:{robot_id}", f"robot:{robot_id}", detail)

    def _append(self, kind: str, actor: str, subject: str, detail: _Detail) -> LedgerEntry:
        return self.ledger.append(kind, actor, subject, detail.model_dump(mode="json"))


class RobotSpend(BaseModel):
    robot_id: str
    rounds: int
    epsilon_total: float
    """The robot's ε after its last recorded round (the accountant's, not a sum of per-round ε)."""
    delta: float
    last_round: str


def spent_by_robot(ledger_path: Path) -> dict[str, RobotSpend]:
    """Robot id → its DP spends as the ledger at ``ledger_path`` records them, in ledger order.
    Lines that do not parse are skipped (``dynamical audit verify`` names them)."""
    out: dict[str, RobotSpend] = {}
    if not ledger_path.exists():
        return out
    with open(ledger_path, "rb") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
                if entry.get("kind") != "dp.spend":
                    continue
                robot = str(entry["subject"]).removeprefix("robot:")
                detail = DpSpendDetail.model_validate(entry["detail"])
            except (ValueError, KeyError, TypeError):
                continue
            before = out.get(robot)
            out[robot] = RobotSpend(
                robot_id=robot,
                rounds=(before.rounds if before else 0) + 1,
                epsilon_total=detail.epsilon_total,
                delta=detail.delta,
                last_round=detail.round_id,
            )
    return out
