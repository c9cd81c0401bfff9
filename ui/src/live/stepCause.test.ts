import { describe, expect, it } from "vitest";
import type { SafetyEventOut, SpanOut } from "../api/types";
import { eventsInWindow, explainStep, humanizeFailure, stepSpans } from "./stepCause";

const T0 = Date.parse("2026-12-07T12:00:00Z");

function event(rule_name: string, atMs: number, extra: Partial<SafetyEventOut> = {}): SafetyEventOut {
  return {
    id: atMs,
    robot_id: "thor",
    request_id: "r",
    t: atMs / 1000,
    tick: atMs,
    rule: 0,
    rule_name,
    joint: -1,
    value: 0,
    limit: 0,
    recorded_at: new Date(T0 + atMs).toISOString(),
    ...extra,
  };
}

function span(id: string, name: string, startMs: number, endMs: number | null, extra: Partial<SpanOut> = {}): SpanOut {
  return {
    span_id: id,
    parent_span_id: null,
    name,
    kind: "INTERNAL",
    start_unix_nano: (T0 + startMs) * 1e6,
    end_unix_nano: endMs === null ? null : (T0 + endMs) * 1e6,
    duration_ms: endMs === null ? null : endMs - startMs,
    status_code: "UNSET",
    attributes: {},
    ...extra,
  };
}

const CUP = "holding(obj=red_cup, side=left) does not hold (red_cup touches [] of the left hand and ['table'])";

describe("humanizeFailure", () => {
  it("turns a postcondition into words", () => {
    expect(humanizeFailure(CUP)).toBe("the left hand is not holding the red_cup");
    expect(humanizeFailure("on(obj=red_cube, surface=shelf) does not hold (…)")).toBe("the red_cube is not on the shelf");
    expect(humanizeFailure("timed out after 30 s: cancelled")).toBe("timed out after 30 s");
    expect(humanizeFailure(null)).toBeNull();
  });
});

describe("explainStep", () => {
  const spans = [
    span("root", "invoke", 0, 20_000),
    span("s1", "step s1 grasp", 1_000, 15_700, { parent_span_id: "root", status_code: "ERROR", attributes: { step_id: "s1" } }),
    span("p1", "approach", 1_000, 3_000, { parent_span_id: "s1" }),
    span("p2", "close", 3_000, 15_700, { parent_span_id: "s1", status_code: "ERROR", attributes: { phase: "close" } }),
  ];

  it("a kernel stop in the step's window is the cause, before the postcondition", () => {
    const events = [event("WATCHDOG_HOLD", 2_900, { value: 13 }), event("WATCHDOG_PROTECTIVE_STOP", 3_000, { value: 40 })];
    const c = explainStep({ failure: CUP, events, spans, stepId: "s1" });
    expect(c.source).toBe("kernel");
    expect(c.headline).toBe("watchdog: no command for too long, protective stop: 40 ms without a command");
    expect(c.skillReport).toBe("the left hand is not holding the red_cup");
    expect(c.events.map((e) => e.rule_name)).toEqual(["WATCHDOG_HOLD", "WATCHDOG_PROTECTIVE_STOP"]);
    // the failed step opens into the phase that failed
    expect(c.phaseSpanId).toBe("p2");
    expect(c.phaseName).toBe("close");
  });

  it("a zone event names the zone, not a joint", () => {
    const events = [event("KEEP_OUT_ZONE", 5_000, { joint: 1, zone_name: "shelf_keepout", point_name: "right hand" } as Partial<SafetyEventOut>)];
    const c = explainStep({ failure: CUP, events, spans, stepId: "s1", jointNames: ["waist_pitch", "waist_yaw"] });
    expect(c.headline).toContain("zone 'shelf_keepout', right hand");
    expect(c.headline).not.toContain("waist");
  });

  it("without kernel events the skill's report, in words, is the cause", () => {
    const c = explainStep({ failure: CUP, events: [event("ZONES_CHANGED", 1_500)], spans, stepId: "s1" });
    expect(c).toMatchObject({ source: "skill", headline: "the left hand is not holding the red_cup", events: [] });
  });

  it("the server's analysis, when it has one, is the headline", () => {
    const c = explainStep({ failure: CUP, events: [], spans, stepId: "s1", analysis: { cause: "zone 'shelf_keepout' stopped the right hand 3 cm short" } });
    expect(c).toMatchObject({ source: "server", headline: "zone 'shelf_keepout' stopped the right hand 3 cm short" });
  });

  it("events outside the step's window are not attached", () => {
    const step = stepSpans(spans, "s1").step;
    const inside = event("VELOCITY_LIMIT", 10_000);
    const after = event("VELOCITY_LIMIT", 18_000);
    expect(eventsInWindow([after, inside], step)).toEqual([inside]);
    expect(eventsInWindow([after, inside], null)).toEqual([inside, after]);
  });
});
