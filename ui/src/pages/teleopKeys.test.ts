import { describe, expect, it } from "vitest";
import { advance, PALM_SPEED } from "./teleopKeys";

const start = { side: "right" as const, pos: [0.3, -0.2, 1.0] as [number, number, number], grip: 0, head: [0, 0.25] as [number, number] };

describe("teleop keys", () => {
  it("W moves the palm forward at the palm speed, Q up, D right", () => {
    const next = advance(start, new Set(["w", "q", "d"]), 0.5);
    expect(next.pos[0]).toBeCloseTo(0.3 + PALM_SPEED * 0.5);
    expect(next.pos[1]).toBeCloseTo(-0.2 - PALM_SPEED * 0.5);
    expect(next.pos[2]).toBeCloseTo(1.0 + PALM_SPEED * 0.5);
  });

  it("nothing held, a stick inside its dead zone: the target stays", () => {
    expect(advance(start, new Set(), 1, [0.1, -0.1, 0, 0.05]).pos).toEqual(start.pos);
  });

  it("opposite keys cancel and the arrow keys turn the head", () => {
    const next = advance(start, new Set(["w", "s", "arrowleft"]), 1);
    expect(next.pos[0]).toBeCloseTo(0.3);
    expect(next.head[0]).toBeGreaterThan(0);
  });
});
