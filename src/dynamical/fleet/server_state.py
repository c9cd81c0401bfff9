"""The platform's fleet-learning state: registered robots, sealed keys, rounds and their sums.

Kept under ``<data_dir>/fleet/`` (``state.json`` written atomically, one ``round-<n>.bfv`` per
closed round). What is stored is exactly what the server may know: robots' X25519 *public* keys,
the HE secret key sealed to each robot (which it cannot open), ciphertexts, counts, byte sizes and
the ε each robot reported. No HE secret key is ever given to this object: ``BfvPublic`` is the
only HE object it builds. One platform process owns the directory; a lock serializes requests.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dynamical.fleet.aggregator import RoundCollector
from dynamical.fleet.bfv import BfvPublic
from dynamical.fleet.config import FleetConfig
from dynamical.fleet.errors import FleetError, FleetKeyError, UpdateRejectedError
from dynamical.fleet.keys import SealedKey, public_key_from_text

ROBOT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class RobotEntry(BaseModel):
    robot_id: str
    public_key: str
    registered_at: datetime
    epsilon: float = 0.0
    rounds: int = 0
    declined: str | None = None


class RoundEntry(BaseModel):
    round: int
    key_id: str
    contributors: list[str]
    declined: dict[str, str] = {}
    rejected: dict[str, str] = {}
    bytes_up: int
    bytes_down: int
    aggregation_s: float
    closed_at: datetime
    metrics: dict[str, float] = {}


class FleetSetup(BaseModel):
    """What an admin publishes: the fleet's learning config, the expert's size and the sealed keys."""

    model_config = ConfigDict(extra="forbid")

    config: FleetConfig
    values: int = Field(ge=2, le=2_000_001, description="integers an update encodes (expert params + count slot)")
    key_id: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)
    min_participants: int = Field(2, ge=1, le=10_000)
    sealed_keys: list[SealedKey] = []


class FleetState(BaseModel):
    setup: FleetSetup | None = None
    robots: dict[str, RobotEntry] = {}
    round: int = 1
    history: list[RoundEntry] = []


class FleetServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._public = BfvPublic()
        self.state = self._load()
        self._collector: RoundCollector | None = None
        self._declined: dict[str, str] = {}

    def _load(self) -> FleetState:
        path = self.root / "state.json"
        if not path.exists():
            return FleetState()
        try:
            return FleetState.model_validate_json(path.read_text())
        except ValueError as exc:
            # Refuse to start over silently: the rounds, registrations and sealed keys would be lost.
            raise FleetError(f"the fleet state {path} is unreadable ({exc}); restore it from a backup") from exc

    def _save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "state.json.tmp"
        tmp.write_text(self.state.model_dump_json(indent=1))
        os.replace(tmp, self.root / "state.json")

    # --- admin --------------------------------------------------------------------------------
    def configure(self, setup: FleetSetup) -> None:
        with self._lock:
            for sealed in setup.sealed_keys:
                if sealed.key_id != setup.key_id or sealed.version != setup.version:
                    raise FleetKeyError(f"the bundle for {sealed.robot_id!r} is for another key id or version")
            rotated = self.state.setup is not None and self.state.setup.key_id != setup.key_id
            self.state.setup = setup
            if rotated or self._collector is not None:
                self._collector = None  # updates made with the old key cannot join a sum under the new one
                self._declined = {}
            self._save()

    # --- robots -------------------------------------------------------------------------------
    def register(self, robot_id: str, public_key: str) -> RobotEntry:
        public_key_from_text(public_key)
        with self._lock:
            entry = self.state.robots.get(robot_id)
            if entry is not None and entry.public_key != public_key:
                raise FleetKeyError(f"robot {robot_id!r} is registered with another public key; an admin re-keys it")
            if entry is None:
                entry = RobotEntry(robot_id=robot_id, public_key=public_key, registered_at=datetime.now(UTC))
                self.state.robots[robot_id] = entry
                self._save()
            return entry

    def sealed_key(self, robot_id: str) -> SealedKey | None:
        setup = self.state.setup
        if setup is None:
            return None
        return next((s for s in setup.sealed_keys if s.robot_id == robot_id), None)

    def _setup(self) -> FleetSetup:
        if self.state.setup is None:
            raise FleetError("the fleet is not set up yet: an admin publishes its config and keys first")
        return self.state.setup

    def _open_round(self) -> RoundCollector:
        setup = self._setup()
        if self._collector is None:
            self._collector = RoundCollector(
                self.state.round,
                setup.key_id,
                setup.values,
                setup.config,
                set(self.state.robots),
                min_participants=setup.min_participants,
                public=self._public if setup.config.aggregation == "bfv" else None,
            )
        return self._collector

    def submit(self, robot_id: str, round_: int, key_id: str, payload: bytes, epsilon: float) -> int:
        """Keep one robot's update for the open round; returns how many the round holds."""
        with self._lock:
            setup = self._setup()
            collector = self._open_round()
            collector.registered = set(self.state.robots)
            collector.submit(robot_id, round_, key_id, setup.values, payload)
            entry = self.state.robots[robot_id]
            entry.epsilon = max(entry.epsilon, epsilon)  # ε only grows: a lower report is not believed
            entry.declined = None
            self._save()
            return len(collector.received)

    def decline(self, robot_id: str, round_: int, reason: str, epsilon: float) -> None:
        with self._lock:
            if robot_id not in self.state.robots:
                raise UpdateRejectedError(f"robot {robot_id!r} is not registered with the fleet")
            if round_ != self.state.round:
                raise UpdateRejectedError(f"round {round_} is not the open round {self.state.round}")
            self._declined[robot_id] = reason
            entry = self.state.robots[robot_id]
            entry.epsilon = max(entry.epsilon, epsilon)
            entry.declined = reason
            self._save()

    def close_round(self) -> RoundEntry:
        with self._lock:
            collector = self._open_round()
            aggregate = collector.close()
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / f"round-{aggregate.round}.bin").write_bytes(aggregate.payload)
            entry = RoundEntry(
                round=aggregate.round,
                key_id=aggregate.key_id,
                contributors=aggregate.contributors,
                declined=dict(self._declined),
                rejected=dict(collector.rejected),
                bytes_up=aggregate.bytes_up,
                bytes_down=aggregate.bytes_down,
                aggregation_s=aggregate.aggregation_s,
                closed_at=datetime.now(UTC),
            )
            for robot in aggregate.contributors:
                self.state.robots[robot].rounds += 1
            self.state.history.append(entry)
            self.state.round += 1
            self._collector = None
            self._declined = {}
            self._save()
            return entry

    def aggregate(self, round_: int | None = None) -> tuple[RoundEntry, bytes]:
        if not self.state.history:
            raise FleetError("no round has closed yet")
        entry = (
            self.state.history[-1]
            if round_ is None
            else next((h for h in self.state.history if h.round == round_), None)
        )
        if entry is None:
            raise FleetError(f"no closed round {round_}")
        try:
            return entry, (self.root / f"round-{entry.round}.bin").read_bytes()
        except OSError as exc:
            raise FleetError(f"round {entry.round}'s sum is missing from the data directory: {exc}") from exc

    def pending(self) -> list[str]:
        return self._collector.received if self._collector is not None else []
