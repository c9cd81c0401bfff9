"""Observability: traces, root-cause analysis, the tamper-evident audit ledger and metrics.

One import, as the spec has it::

    from dynamical.observability import get_observability_system

    system = get_observability_system(data_dir)
    system.trace_manager.tracer()                      # OpenTelemetry (the server stores the spans)
    system.root_cause_analyzer.analyze(evidence)       # ranked causes of a failure
    system.auditor.append("request", "cli", "POST /api/v1/thing", {"status_code": 200})
    system.operations.dp_spend(robot_id="r1", round_id="round-3", epsilon=0.4, delta=1e-5,
                               epsilon_total=3.8, noise_multiplier=1.0, sample_rate=0.125, steps=8)

``operations`` (``audit_operations.OperationsAudit``) records keys, encryption, aggregation,
decryption and DP spends with validated details: federated learning's entry point.

This package imports nothing above it (no ``api``, no CLI): the server and the CLI build the
evidence and call in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from dynamical.observability.audit_operations import OperationsAudit
from dynamical.observability.ledger import AuditLedger, ledger_at
from dynamical.observability.rca import RootCauseAnalyzer
from dynamical.observability.traces import TraceManager


@dataclass(frozen=True)
class ObservabilitySystem:
    trace_manager: TraceManager
    root_cause_analyzer: RootCauseAnalyzer
    auditor: AuditLedger
    operations: OperationsAudit


def get_observability_system(data_dir: Path, provider: TracerProvider | None = None) -> ObservabilitySystem:
    """The trace manager (``provider``: the server's; a fresh one when None), the root-cause
    analyzer and the audit ledger of ``data_dir`` (the process's one ledger for it)."""
    ledger = ledger_at(data_dir)
    return ObservabilitySystem(
        trace_manager=TraceManager(provider if provider is not None else TracerProvider()),
        root_cause_analyzer=RootCauseAnalyzer(),
        auditor=ledger,
        operations=OperationsAudit(ledger),
    )


__all__ = ["ObservabilitySystem", "get_observability_system"]
