import { describe, expect, it } from "vitest";
import { appendToTrail, type TrailPoint } from "./trail";

const pt = (t: number): TrailPoint => ({ t, p: [t, 0, 0] });

describe("appendToTrail", () => {
  it("keeps only the last window of seconds", () => {
    let trail: TrailPoint[] = [];
    for (let t = 0; t <= 30; t += 1) trail = appendToTrail(trail, pt(t), 20);
    expect(trail[0]!.t).toBe(10);
    expect(trail[trail.length - 1]!.t).toBe(30);
    expect(trail.length).toBe(21);
  });

  it("starts over when time goes backwards (a world reset)", () => {
    const trail = appendToTrail([pt(5), pt(6)], pt(1), 20);
    expect(trail).toEqual([pt(1)]);
  });
});
