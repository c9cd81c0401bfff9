"""The trace manager: the server's OpenTelemetry tracer provider (``api/tracing.py`` stores its
spans), and the skill-phase spans built from what a robot reports.

A step's span opens when the robot reports it running and closes with its outcome; the phases
of its planned motion (``TrajectorySummary.phases``: open the hand, approach, descend, close …)
become child spans laid end to end from the moment the motion was launched, cut where the step
ended. The phase that was running when a failed step ended carries the error, so a failed step
opens into the phase that failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry import trace as otel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, Status, StatusCode, Tracer


class PhaseLike(Protocol):
    name: str
    duration_s: float
    hands: dict[str, list[float]]


@dataclass
class TraceManager:
    provider: TracerProvider

    def tracer(self, name: str = "dynamical") -> Tracer:
        return self.provider.get_tracer(name)


def phase_spans(
    tracer: Tracer,
    step: Span,
    phases: Sequence[PhaseLike],
    launched_ns: int,
    ended_ns: int,
    failure: str | None,
) -> list[Span]:
    """Child spans of ``step``, one per phase that started before ``ended_ns`` (Unix ns);
    ``failure`` (None on success) marks the phase that was running at the end."""
    context = otel.set_span_in_context(step)
    spans = []
    at = launched_ns
    for index, phase in enumerate(phases):
        if at >= ended_ns:
            break
        planned_end = at + int(phase.duration_s * 1e9)
        # The last phase runs on to the step's end (the settle and the postcondition check).
        end = ended_ns if planned_end >= ended_ns or index == len(phases) - 1 else planned_end
        attributes: dict[str, Any] = {
            "phase": phase.name,
            "index": index,
            "planned_s": phase.duration_s,
            "cut_short": planned_end > ended_ns,
        }
        for side, pos in phase.hands.items():
            attributes[f"hand.{side}.planned_m"] = list(pos)
        span = tracer.start_span(f"phase {phase.name}", context=context, start_time=at, attributes=attributes)
        if failure is not None and end == ended_ns:
            span.set_status(Status(StatusCode.ERROR, failure))
        span.end(end_time=end)
        spans.append(span)
        if end == ended_ns:
            break
        at = planned_end
    return spans


class PhaseTimeline:
    """Remembers, per open step span, when its motion was launched and its planned phases, so
    that the phases become child spans when the step ends (``phase_spans``)."""

    def __init__(self) -> None:
        self._launched: dict[int, tuple[int, list[PhaseLike]]] = {}

    def launched(self, step: Span, t_ns: int, phases: Sequence[PhaseLike]) -> None:
        self._launched[id(step)] = (t_ns, list(phases))

    def ended(self, tracer: Tracer, step: Span, t_ns: int, failure: str | None) -> list[Span]:
        """The phase spans of ``step`` (call before ending it); none when no motion was launched."""
        launched = self._launched.pop(id(step), None)
        if launched is None:
            return []
        return phase_spans(tracer, step, launched[1], launched[0], t_ns, failure)
