import { describe, expect, it } from "vitest";
import type { ModelBody, RobotModel } from "../api/types";
import { bodyBounds, zoneTargets } from "./bodyBounds";

const body = (partial: Partial<ModelBody>): ModelBody => ({
  name: "b",
  parent: 0,
  pos: [0, 0, 0],
  quat: [1, 0, 0, 0],
  role: "scenery",
  joints: [],
  geoms: [],
  ...partial,
});

const box = (size: number[], pos: [number, number, number] = [0, 0, 0]) => ({
  type: "box",
  size,
  pos,
  quat: [1, 0, 0, 0] as [number, number, number, number],
  rgba: [1, 1, 1, 1] as [number, number, number, number],
});

const s = Math.SQRT1_2;
const model: RobotModel = {
  joint_names: [],
  objects: ["red_cube"],
  mannequin: null,
  hand_sites: {},
  bodies: [
    body({ name: "world", parent: -1, role: "world", geoms: [{ ...box([5, 5, 0]), type: "plane" }] }),
    // a shelf turned 90° about z: its 0.3 × 0.1 board spans 0.1 × 0.3 in the world
    body({ name: "shelf", pos: [0.5, -0.6, 1.0], quat: [s, 0, 0, s], geoms: [box([0.3, 0.1, 0.02])] }),
    body({ name: "red_cube", role: "object", geoms: [box([0.02, 0.02, 0.02])] }),
    body({ name: "torso", role: "robot", geoms: [box([0.1, 0.1, 0.2])] }),
  ],
};

describe("bodyBounds", () => {
  it("a rotated surface's world box, grown by a margin", () => {
    const b = bodyBounds(model, "shelf", [], 0.05)!;
    expect(b.center).toEqual([0.5, -0.6, 1.0]);
    expect(b.half[0]).toBeCloseTo(0.15, 6);
    expect(b.half[1]).toBeCloseTo(0.35, 6);
    expect(b.half[2]).toBeCloseTo(0.07, 6);
  });

  it("an object where it is now (its streamed pose), not where the model put it", () => {
    const b = bodyBounds(model, "red_cube", [{ name: "red_cube", pos: [0.4, -0.1, 0.8], quat: [1, 0, 0, 0] }])!;
    expect(b).toEqual({ center: [0.4, -0.1, 0.8], half: [0.02, 0.02, 0.02] });
  });

  it("only objects and scenery are offered; unknown names and planes give nothing", () => {
    expect(zoneTargets(model)).toEqual(["shelf", "red_cube"]);
    expect(bodyBounds(model, "nope")).toBeNull();
    expect(bodyBounds(model, "world")).toBeNull();
  });
});
