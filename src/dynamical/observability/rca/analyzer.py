"""The root-cause analyzer: every row of ``rules.RULES`` evaluated on one execution's evidence,
the rows that match ranked by score, each with the facts it measured and its explanation.

The failed step is the one examined (the plan stops at the first); a succeeded execution with
kernel interventions is examined too (its causes explain the interventions, not a failure).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from dynamical.observability.rca.evidence import EventEvidence, ExecutionEvidence, StepEvidence
from dynamical.observability.rca.rules import RULES, CauseRule

HAND_LINK = re.compile(r"'([lr])_[a-z]+_(?:distal|proximal|middle)_link'")
CLOSE_PHASE = re.compile(r"close", re.IGNORECASE)


class RankedCause(BaseModel):
    cause: str
    title: str
    score: float
    explanation: str
    remedy: str
    evidence: list[str]
    """The conditions of the rule that matched, in words."""
    facts: dict[str, Any]
    events: list[EventEvidence]
    """The kernel events that support it (at most 20)."""


class Analysis(BaseModel):
    execution_id: str
    status: str
    failed_step: str | None
    failed_phase: str | None
    """The skill phase the step was in when it failed (when phases are known)."""
    causes: list[RankedCause]
    """Best first; empty when nothing went wrong."""
    events_by_rule: dict[str, int]
    """Kernel events in the failed step's window (the execution's when there is no failed step)."""

    @property
    def top(self) -> str | None:
        return self.causes[0].cause if self.causes else None


class RootCauseAnalyzer:
    """Ranks the causes of an execution's failure or interventions by ``rules``."""

    def __init__(self, rules: Sequence[CauseRule] = RULES) -> None:
        self.rules = tuple(rules)
        self._patterns = {
            r.cause: (
                re.compile(r.failure_pattern) if r.failure_pattern else None,
                re.compile(r.postcondition_pattern) if r.postcondition_pattern else None,
            )
            for r in self.rules
        }

    def analyze(self, evidence: ExecutionEvidence) -> Analysis:
        step = evidence.failed_step()
        events = evidence.step_events(step)
        quiet = not events and not evidence.error
        if step is None and (evidence.status == "succeeded" or not evidence.steps) and quiet:
            return Analysis(
                execution_id=evidence.execution_id,
                status=evidence.status,
                failed_step=None,
                failed_phase=None,
                causes=[],
                events_by_rule={},
            )
        facts = _facts(evidence, step, events)
        ranked = []
        for rule in self.rules:
            matched = self._match(rule, evidence, step, events, facts)
            if matched is None:
                continue
            reasons, supporting = matched
            score = rule.weight + rule.per_evidence * (len(reasons) - 1)
            ranked.append(
                RankedCause(
                    cause=rule.cause,
                    title=rule.title,
                    score=score,
                    explanation=_explain(rule.explain, facts, supporting, step),
                    remedy=rule.remedy,
                    evidence=reasons,
                    facts={k: v for k, v in facts.items() if not isinstance(v, float) or math.isfinite(v)},
                    events=supporting[:20],
                )
            )
        ranked.sort(key=lambda c: -c.score)
        return Analysis(
            execution_id=evidence.execution_id,
            status=evidence.status,
            failed_step=step.step_id if step is not None else None,
            failed_phase=facts.get("phase_at_failure"),
            causes=ranked,
            events_by_rule=dict(Counter(e.rule for e in events)),
        )

    def _match(
        self,
        rule: CauseRule,
        evidence: ExecutionEvidence,
        step: StepEvidence | None,
        events: list[EventEvidence],
        facts: dict[str, Any],
    ) -> tuple[list[str], list[EventEvidence]] | None:
        failure_re, post_re = self._patterns[rule.cause]
        reasons: list[str] = []
        asked = 0
        supporting: list[EventEvidence] = []
        if rule.events:
            asked += 1
            supporting = [e for e in events if e.rule in rule.events]
            if supporting:
                counts = Counter(e.rule for e in supporting)
                reasons.append("kernel events: " + ", ".join(f"{n}× {r}" for r, n in counts.items()))
        if rule.step_causes:
            asked += 1
            if step is not None and step.cause in rule.step_causes:
                reasons.append(f"the runner's cause: {step.cause}")
        if failure_re is not None:
            asked += 1
            text = " ".join(t for t in ((step.failure if step else None), evidence.error) if t)
            if text and failure_re.search(text):
                reasons.append(f"the failure reads: {text[:200]}")
        if post_re is not None:
            asked += 1
            broken = [p for p in (step.postconditions if step else []) if not p.holds and post_re.search(p.predicate)]
            if broken:
                reasons.append(f"postcondition {broken[0].predicate} does not hold: {broken[0].detail[:200]}")
        if rule.object_moved_m is not None:
            asked += 1
            moved = facts.get("moved_m")
            if moved is not None and moved >= rule.object_moved_m:
                reasons.append(f"{facts['object']} moved {moved * 1e3:.0f} mm between the plan and the step")
        if rule.object_offset_m is not None:
            asked += 1
            offset = facts.get("offset_m")
            if offset is not None and offset >= rule.object_offset_m:
                reasons.append(f"{facts['object']} was {offset * 1e3:.0f} mm off the planned grasp centre")
        if not reasons or (rule.needs == "all" and len(reasons) < asked):
            return None
        return reasons, supporting


def _facts(evidence: ExecutionEvidence, step: StepEvidence | None, events: list[EventEvidence]) -> dict[str, Any]:
    """Numbers the explanations quote, measured once."""
    facts: dict[str, Any] = {
        "failure": (step.failure if step else None) or evidence.error or "",
        "count": len(events),
        "t": events[0].t if events else (step.t_end if step and step.t_end is not None else math.nan),
        "category": evidence.estop_category if evidence.estop_category is not None else "?",
        "zone": "a keep-out zone",
        "point": "robot",
        "gap_ms": math.nan,
        "object": "the object",
        "offset_mm": math.nan,
        "moved_mm": math.nan,
        "fingers": "?",
        "predicate": "",
        "phase": "the step",
        "rule": events[0].rule if events else "",
    }
    zone_events = [e for e in events if e.rule == "KEEP_OUT_ZONE"]
    if zone_events:
        name = zone_events[0].zone
        facts["zone"] = f"keep-out zone {name!r}" if name else "a keep-out zone"
        facts["point"] = zone_events[0].point or "robot"
    stops = [e for e in events if e.rule in ("ESTOP", "ESTOP_POWER_OFF")]
    if stops and stops[0].rule == "ESTOP" and stops[0].value is not None:
        facts["category"] = int(stops[0].value)
    watchdog = [e for e in events if e.rule.startswith("WATCHDOG") and e.value is not None]
    if watchdog:
        # The kernel reports the ticks without a command; at its 1 kHz a tick is a millisecond.
        facts["gap_ms"] = max(e.value or 0.0 for e in watchdog)
    if step is None:
        return facts
    broken = [p for p in step.postconditions if not p.holds]
    if broken:
        facts["predicate"] = broken[0].predicate
        fingers = {m.group(0) for m in HAND_LINK.finditer(broken[0].detail) if "distal" in m.group(0)}
        facts["fingers"] = len(fingers)
    first_event_t = events[0].t if events else None
    facts["phase_at_failure"] = _phase_at(step, first_event_t)
    if facts["phase_at_failure"]:
        facts["phase"] = f"phase {facts['phase_at_failure']!r} of {step.skill}"
    name = _object_of(step)
    if name is not None:
        facts["object"] = name
        obj = evidence.object(name)
        if obj is not None:
            if obj.at_plan is not None and obj.at_step_start is not None:
                moved = float(np.linalg.norm(np.subtract(obj.at_step_start, obj.at_plan)))
                facts["moved_m"], facts["moved_mm"] = moved, moved * 1e3
            centre = _planned_grasp_centre(step)
            if centre is not None and obj.at_step_end is not None:
                # Horizontal offset: the grasp centre sits above the object's origin by design.
                offset = float(np.linalg.norm(np.subtract(obj.at_step_end, centre)[:2]))
                facts["offset_m"], facts["offset_mm"] = offset, offset * 1e3
    return facts


def _phase_at(step: StepEvidence, t: float | None) -> str | None:
    """The phase running at ``t`` (the step's end when None)."""
    if not step.phases:
        return None
    at = t if t is not None else (step.t_end if step.t_end is not None else step.phases[-1].t_end)
    for phase in step.phases:
        if phase.t_start <= at < phase.t_end:
            return phase.name
    return step.phases[-1].name if at >= step.phases[-1].t_end else step.phases[0].name


def _planned_grasp_centre(step: StepEvidence) -> list[float] | None:
    side = step.params.get("side")
    for phase in step.phases:
        if CLOSE_PHASE.search(phase.name) and phase.hands:
            hands = phase.hands
            return hands.get(side) if side in hands else next(iter(hands.values()))
    return None


def _object_of(step: StepEvidence) -> str | None:
    for key in ("obj", "object", "target"):
        value = step.params.get(key)
        if isinstance(value, str):
            return value
    return None


def _explain(template: str, facts: dict[str, Any], supporting: list[EventEvidence], step: StepEvidence | None) -> str:
    if supporting:
        # The rule's own events: when and how often *it* acted, not the step's first event
        # (a ZONES_CHANGED or another rule's intervention may come before it).
        facts = {**facts, "t": supporting[0].t, "count": len(supporting), "rule": supporting[0].rule}
        phase = _phase_at(step, supporting[0].t) if step is not None else None
        if phase:
            facts["phase"] = f"phase {phase!r} of {step.skill}"  # type: ignore[union-attr]
    try:
        return template.format(**facts)
    except (KeyError, ValueError, IndexError):
        return template
