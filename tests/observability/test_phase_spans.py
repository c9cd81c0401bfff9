"""Skill phases are spans of their own: a failed step opens into the phase that was running."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from dynamical.observability.traces import PhaseTimeline
from dynamical.skills.runner import PhaseSummary

S = 1_000_000_000
PHASES = [
    PhaseSummary(name="open the hand", duration_s=0.5, hands={"right": [0.1, -0.2, 0.6]}),
    PhaseSummary(name="approach", duration_s=1.0, hands={"right": [0.3, -0.2, 0.9]}),
    PhaseSummary(name="descend", duration_s=0.5, hands={"right": [0.3, -0.2, 0.78]}),
    PhaseSummary(name="close the hand", duration_s=0.7, hands={"right": [0.3, -0.2, 0.78]}),
]


def _run(end_s: float, failure: str | None) -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    timeline = PhaseTimeline()
    step = tracer.start_span("step s1 grasp", start_time=100 * S)
    timeline.launched(step, 100 * S + S // 10, PHASES)
    timeline.ended(tracer, step, int((100 + end_s) * S), failure)
    step.end(end_time=int((100 + end_s) * S))
    spans = [s for s in exporter.get_finished_spans() if s.name.startswith("phase ")]
    assert all(s.parent is not None and s.parent.span_id == step.get_span_context().span_id for s in spans)
    return sorted(spans, key=lambda s: s.start_time)


def test_a_step_that_failed_in_the_approach_opens_into_it() -> None:
    spans = _run(1.2, "KEEP_OUT_ZONE: zone 'shelf_keepout' stopped the right hand")
    assert [s.name for s in spans] == ["phase open the hand", "phase approach"]
    assert spans[0].status.status_code is StatusCode.UNSET
    assert spans[1].status.status_code is StatusCode.ERROR and "shelf_keepout" in spans[1].status.description
    assert spans[1].attributes["cut_short"] is True
    assert spans[0].end_time == spans[1].start_time == 100 * S + S // 10 + S // 2


def test_a_successful_step_has_every_phase_and_the_last_runs_to_its_end() -> None:
    spans = _run(3.5, None)
    assert [s.attributes["phase"] for s in spans] == [p.name for p in PHASES]
    assert all(s.status.status_code is StatusCode.UNSET for s in spans)
    assert spans[-1].end_time == 103 * S + S // 2
    assert list(spans[1].attributes["hand.right.planned_m"]) == [0.3, -0.2, 0.9]


def test_a_step_refused_before_it_moved_has_no_phases() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    step = tracer.start_span("step s1 grasp")
    assert PhaseTimeline().ended(tracer, step, 5 * S, "precondition reachable does not hold") == []
