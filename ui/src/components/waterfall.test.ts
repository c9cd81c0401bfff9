import { describe, expect, it } from "vitest";
import type { SpanOut } from "../api/types";
import { layoutWaterfall } from "./waterfall";

const MS = 1e6;
function span(id: string, parent: string | null, startMs: number, endMs: number | null): SpanOut {
  return {
    span_id: id,
    parent_span_id: parent,
    name: id,
    kind: "internal",
    start_unix_nano: 1_000 * MS + startMs * MS,
    end_unix_nano: endMs === null ? null : 1_000 * MS + endMs * MS,
    duration_ms: endMs === null ? null : endMs - startMs,
    status_code: "OK",
    attributes: {},
  };
}

describe("layoutWaterfall", () => {
  it("nests children under parents, offsets by start and sizes by duration", () => {
    const { rows, totalMs } = layoutWaterfall([
      span("step2", "root", 60, 100),
      span("root", null, 0, 100),
      span("plan", "root", 0, 20),
      span("skill", "step2", 70, 90),
    ]);
    expect(totalMs).toBe(100);
    expect(rows.map((r) => [r.span.span_id, r.depth])).toEqual([
      ["root", 0],
      ["plan", 1],
      ["step2", 1],
      ["skill", 2],
    ]);
    const skill = rows[3]!;
    expect(skill.offset).toBeCloseTo(0.7);
    expect(skill.width).toBeCloseTo(0.2);
  });

  it("an orphan is a root, an open span runs to the trace end", () => {
    const { rows } = layoutWaterfall([span("a", null, 0, 50), span("b", "missing", 10, null)]);
    const b = rows.find((r) => r.span.span_id === "b")!;
    expect(b.depth).toBe(0);
    expect(b.open).toBe(true);
    expect(b.width).toBeCloseTo(0.8);
    expect(b.durationMs).toBeNull();
  });

  it("no spans: nothing to draw", () => {
    expect(layoutWaterfall([])).toEqual({ rows: [], totalMs: 0 });
  });
});
