"""Root-cause analysis: evidence in, ranked causes out, by a table of rules (``rules.RULES``)."""

from dynamical.observability.rca.analyzer import Analysis, RankedCause, RootCauseAnalyzer
from dynamical.observability.rca.evidence import (
    EventEvidence,
    ExecutionEvidence,
    ObjectEvidence,
    PhaseEvidence,
    PredicateEvidence,
    StepEvidence,
)
from dynamical.observability.rca.rules import RULES, CauseRule

__all__ = [
    "RULES",
    "Analysis",
    "CauseRule",
    "EventEvidence",
    "ExecutionEvidence",
    "ObjectEvidence",
    "PhaseEvidence",
    "PredicateEvidence",
    "RankedCause",
    "RootCauseAnalyzer",
    "StepEvidence",
]
