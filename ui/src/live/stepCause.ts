// Why a step failed, in plain words, with the safety events of its time window. Pure.
//
// The kernel's own events decide first (an e-stop, a watchdog stop, a keep-out zone that
// stopped the hand); only when the kernel did nothing is the skill's postcondition blamed.
import type { SafetyEventOut, SpanOut } from "../api/types";
import { DECISIVE_RULES, eventSentence, ruleWords } from "./safetyText";

export interface StepCause {
  /** One sentence: what went wrong. */
  headline: string;
  /** The skill's own report, in words (null when it is the headline already or absent). */
  skillReport: string | null;
  /** The raw failure text, for the curious (debug detail). */
  detail: string | null;
  /** Safety events recorded in the step's time window, oldest first. */
  events: SafetyEventOut[];
  /** What to do about it (the server's analysis says). */
  remedy: string | null;
  /** Who decided the headline. */
  source: "server" | "kernel" | "skill" | "unknown";
  /** The trace span of the phase that failed, when the trace has phases. */
  phaseSpanId: string | null;
  phaseName: string | null;
}

/** What the server's cause analysis says about one step (GET …/executions/{id}/analysis); the
 * fields the UI reads, all optional: the endpoint is newer than this dashboard may be. */
export interface StepAnalysis {
  step_id?: string;
  cause?: string | null;
  summary?: string | null;
  phase?: string | null;
  rule?: string | null;
  /** What the operator can do about it. */
  remedy?: string | null;
}

const OPERATOR_ONLY = new Set(["ZONES_CHANGED", "RESET"]);

const PREDICATES: Record<string, (a: Record<string, string>) => string> = {
  holding: (a) => `the ${a.side ?? ""} hand is not holding the ${a.obj ?? "object"}`.replace("the  hand", "the hand"),
  on: (a) => `the ${a.obj ?? "object"} is not on the ${a.surface ?? "surface"}`,
  hand_empty: (a) => `the ${a.side ?? ""} hand is not empty`,
  hand_open: (a) => `the ${a.side ?? ""} hand did not open`,
  reachable: (a) => `the ${a.obj ?? a.target ?? "target"} is out of reach`,
  at_home: () => "the robot did not reach its home posture",
  arm_at_rest: (a) => `the ${a.side ?? ""} arm did not come to rest`,
  near: (a) => `the ${a.obj ?? "object"} is not near the ${a.target ?? a.to ?? "target"}`,
  hand_over: (a) => `the ${a.obj ?? "object"} was not handed over`,
  looking_at: (a) => `the head is not looking at the ${a.target ?? a.obj ?? "target"}`,
  pointing_at: (a) => `the hand is not pointing at the ${a.target ?? a.obj ?? "target"}`,
};

/** "holding(obj=red_cup, side=left) does not hold (…)" → "the left hand is not holding the red_cup". */
export function humanizeFailure(text: string | null | undefined): string | null {
  if (!text) return null;
  const m = /\b([a-z_]+)\(([^)]*)\)/.exec(text);
  if (m && PREDICATES[m[1]!]) {
    const args: Record<string, string> = {};
    for (const part of m[2]!.split(",")) {
      const [k, v] = part.split("=").map((x) => x.trim());
      if (k && v) args[k] = v.replace(/^['"]|['"]$/g, "");
    }
    return PREDICATES[m[1]!]!(args).replace(/\s+/g, " ");
  }
  // the first clause only: what follows a colon or parenthesis is measurement detail
  const first = text.split(/ \(|: /)[0]!.trim();
  return first || text;
}

/** Events of the step's window: from its span's start to its end (+1 s: events are stored as
 * they arrive, a moment after they happened); without a span, every event of the execution. */
export function eventsInWindow(events: SafetyEventOut[], span: SpanOut | null, graceMs = 1_000): SafetyEventOut[] {
  const relevant = events.filter((e) => !OPERATOR_ONLY.has(e.rule_name));
  const sorted = [...relevant].sort((a, b) => a.t - b.t || a.id - b.id);
  if (!span) return sorted;
  const start = span.start_unix_nano / 1e6 - 200;
  const end = (span.end_unix_nano ?? Number.MAX_SAFE_INTEGER * 1e6) / 1e6 + graceMs;
  return sorted.filter((e) => {
    const at = Date.parse(e.recorded_at);
    return Number.isNaN(at) || (at >= start && at <= end);
  });
}

/** The step's span in a trace (named "step {step_id} {skill}"), and its failed phase child. */
export function stepSpans(spans: SpanOut[], stepId: string): { step: SpanOut | null; phase: SpanOut | null } {
  const step = spans.find((s) => s.attributes?.step_id === stepId || s.name.startsWith(`step ${stepId} `)) ?? null;
  if (!step) return { step: null, phase: null };
  const children = spans.filter((s) => s.parent_span_id === step.span_id);
  const phase = children.find((s) => s.status_code === "ERROR") ?? null;
  return { step, phase };
}

export interface CauseInput {
  failure: string | null | undefined;
  events: SafetyEventOut[];
  spans: SpanOut[];
  stepId: string;
  jointNames?: string[];
  analysis?: StepAnalysis | null;
}

export function explainStep({ failure, events, spans, stepId, jointNames, analysis }: CauseInput): StepCause {
  const { step, phase } = stepSpans(spans, stepId);
  const windowed = eventsInWindow(events, step);
  const skillWords = humanizeFailure(failure);
  const phaseName = phase ? String(phase.attributes?.phase ?? phase.name) : (analysis?.phase ?? null);
  const base = { detail: failure ?? null, events: windowed, phaseSpanId: phase?.span_id ?? null, phaseName, remedy: analysis?.remedy ?? null };
  const serverSays = analysis?.summary ?? analysis?.cause ?? null;
  if (serverSays) return { ...base, headline: serverSays, skillReport: skillWords, source: "server" };
  for (const rule of DECISIVE_RULES) {
    const hit = windowed.find((e) => e.rule_name === rule);
    if (hit) {
      return { ...base, headline: eventSentence(hit, jointNames), skillReport: skillWords, source: "kernel" };
    }
  }
  if (skillWords) return { ...base, headline: skillWords, skillReport: null, source: "skill" };
  return { ...base, headline: "the step failed; the robot gave no reason", skillReport: null, source: "unknown" };
}

export { ruleWords };
