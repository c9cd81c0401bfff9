"""Federated learning's metrics, read from the audit ledger at scrape time: rounds aggregated,
bytes in and out of the aggregator, bytes robots encrypted, each robot's differential-privacy ε,
key operations. The ledger is where ``fleet/`` records them (``audit_operations``), whichever
process ran the round, so the server's ``/metrics`` counts rounds it did not run itself.

Each scrape reads only the lines appended since the last one (an offset into the file, never the
whole ledger again); a line still being written is left for the next scrape, and a ledger that
shrank (replaced) is read again from its start.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class FederatedLedgerCollector(Collector):
    """Prometheus families of the federated-learning entries of the ledger at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._offset = 0
        self._rounds = 0
        self._bytes: Counter[str] = Counter()
        self._encrypted: Counter[str] = Counter()
        self._epsilon: dict[str, float] = {}
        self._keys: Counter[str] = Counter()

    def describe(self) -> Iterable[Metric]:
        return []  # read at scrape time

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            self._catch_up()
            rounds = CounterMetricFamily("dynamical_fl_rounds", "Federated rounds aggregated (audit ledger)")
            rounds.add_metric([], float(self._rounds))
            moved = CounterMetricFamily(
                "dynamical_fl_aggregation_bytes", "Bytes into and out of the aggregator", labels=["direction"]
            )
            for direction in ("in", "out"):
                moved.add_metric([direction], float(self._bytes[direction]))
            encrypted = CounterMetricFamily(
                "dynamical_fl_encrypted_bytes", "Ciphertext bytes each robot produced", labels=["actor"]
            )
            for actor, count in sorted(self._encrypted.items()):
                encrypted.add_metric([actor], float(count))
            epsilon = GaugeMetricFamily(
                "dynamical_fl_dp_epsilon", "Each robot's differential-privacy epsilon spent so far", labels=["robot"]
            )
            for robot, value in sorted(self._epsilon.items()):
                epsilon.add_metric([robot], value)
            keys = CounterMetricFamily("dynamical_fl_key_operations", "Key operations by kind", labels=["operation"])
            for operation, count in sorted(self._keys.items()):
                keys.add_metric([operation], float(count))
        yield from (rounds, moved, encrypted, epsilon, keys)

    def _catch_up(self) -> None:
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return
        if size < self._offset:  # replaced by a shorter file: count it afresh
            self._reset()
        if size == self._offset:
            return
        with open(self.path, "rb") as handle:
            handle.seek(self._offset)
            data = handle.read(size - self._offset)
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next scrape
        for line in data[:end].splitlines():
            self._count(line)
        self._offset += end

    def _count(self, line: bytes) -> None:
        try:
            entry = json.loads(line)
            kind, detail = entry["kind"], entry["detail"]
            if kind == "aggregation":
                self._rounds += 1
                self._bytes["in"] += _count_of(detail.get("bytes_in"))
                self._bytes["out"] += _count_of(detail.get("bytes_out"))
            elif kind == "encryption":
                self._encrypted[str(entry["actor"])] += _count_of(detail.get("bytes"))
            elif kind == "dp.spend":
                total = detail.get("epsilon_total")
                if isinstance(total, int | float) and math.isfinite(total):
                    self._epsilon[str(entry["subject"]).removeprefix("robot:")] = float(total)
            elif kind.startswith("key."):
                self._keys[kind.removeprefix("key.")] += 1
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not an entry: ``dynamical audit verify`` names it


def _count_of(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
