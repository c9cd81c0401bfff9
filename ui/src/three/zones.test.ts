import { describe, expect, it } from "vitest";
import type { ZoneOut } from "../api/types";
import { rotate } from "./pose";
import { zoneShape, zonesFor } from "./zones";

describe("zoneShape", () => {
  it("a box is drawn at its centre with full extents", () => {
    expect(zoneShape({ kind: "box", name: "b", center: [0.2, -0.6, 1.6], half_size: [0.05, 0.1, 0.2] })).toEqual({
      kind: "box",
      position: [0.2, -0.6, 1.6],
      quat: [1, 0, 0, 0],
      size: [0.1, 0.2, 0.4],
    });
  });

  it("a half-space is a plane through n·x = offset, facing n", () => {
    const shape = zoneShape({ kind: "halfspace", name: "wall", normal: [0, 2, 0], offset: 1 })!;
    expect(shape.kind).toBe("plane");
    expect(shape.position).toEqual([0, 0.5, 0]);
    const z = rotate(shape.quat, [0, 0, 1]);
    expect(z[0]).toBeCloseTo(0);
    expect(z[1]).toBeCloseTo(1);
    expect(z[2]).toBeCloseTo(0);
    expect(zoneShape({ kind: "halfspace", name: "bad", normal: [0, 0, 0], offset: 1 })).toBeNull();
  });
});

describe("zonesFor", () => {
  it("keeps the robot's zones and the global ones", () => {
    const z = (id: number, robot_id: string | null): ZoneOut => ({
      id,
      robot_id,
      created_at: "",
      zone: { kind: "box", name: `z${id}`, center: [0, 0, 0], half_size: [1, 1, 1] },
    });
    expect(zonesFor([z(1, null), z(2, "a"), z(3, "b")], "a").map((x) => x.id)).toEqual([1, 2]);
  });
});
