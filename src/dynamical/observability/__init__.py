"""Observability: traces, root-cause analysis, the tamper-evident audit ledger and metrics.

One import, as the spec has it::

    from dynamical.observability import get_observability_system

    system = get_observability_system(data_dir)
    system.trace_manager.tracer()                      # OpenTelemetry (the server stores the spans)
    system.root_cause_analyzer.analyze(evidence)       # ranked causes of a failure
    system.auditor.append("dp.spend", "robot:r1", "fleet-round-3", {"epsilon": 0.4})

This package imports nothing above it (no ``api``, no CLI): the server and the CLI build the
evidence and call in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from dynamical.observability.ledger import AuditLedger, ledger_at
from dynamical.observability.rca import RootCauseAnalyzer
from dynamical.observability.traces import TraceManager


@dataclass(frozen=True)
class ObservabilitySystem:
    trace_manager: TraceManager
    root_cause_analyzer: RootCauseAnalyzer
    auditor: AuditLedger


def get_observability_system(data_dir: Path, provider: TracerProvider | None = None) -> ObservabilitySystem:
    """The trace manager (``provider``: the server's; a fresh one when None), the root-cause
    analyzer and the audit ledger of ``data_dir`` (the process's one ledger for it)."""
    return ObservabilitySystem(
        trace_manager=TraceManager(provider if provider is not None else TracerProvider()),
        root_cause_analyzer=RootCauseAnalyzer(),
        auditor=ledger_at(data_dir),
    )


__all__ = ["ObservabilitySystem", "get_observability_system"]
