// The mannequin as the 3D view draws it stands on the floor: the scene model the server sends
// (the MuJoCo fixture), posed from the states the robot streams, wherever the person is put.
import { describe, expect, it } from "vitest";
import type { RobotModel, RobotState } from "../api/types";
import fixture from "./fixtures/humanoid_fk.json";
import { RobotGraph } from "./robotGraph";

const model = fixture.model as unknown as RobotModel;
/** m: a capsule's rounded foot may touch into the floor plane this much; never float above it. */
const FLOOR_TOLERANCE_M = 0.02;

function state(mannequin: RobotState["mannequin"]): RobotState {
  return {
    robot_id: "thor_001",
    t: 0,
    joint_names: model.joint_names,
    q: model.joint_names.map(() => 0),
    dq: model.joint_names.map(() => 0),
    safety: null,
    timing: {},
    objects: [],
    mannequin,
    busy: false,
    fault: null,
  };
}

const yaw = (rad: number): [number, number, number, number] => [Math.cos(rad / 2), 0, 0, Math.sin(rad / 2)];

describe("the mannequin in the 3D view", () => {
  const graph = new RobotGraph(model);

  it("the scene has a mannequin with geometry", () => {
    expect(model.mannequin).toBeTruthy();
    expect(graph.extentOf("mannequin")).not.toBeNull();
  });

  it.each([
    ["before any state (the model's own pose)", null],
    ["where the simulator put it", state({ name: "mannequin", pos: [1.6, -1.2, 0], quat: [1, 0, 0, 0] })],
    ["moved next to the robot and turned", state({ name: "mannequin", pos: [0.9, 0.4, 0], quat: yaw(2.1) })],
    ["out of the way (the agents' default)", state({ name: "mannequin", pos: [4, 4, 0], quat: yaw(-0.7) })],
  ] as const)("stands on the floor %s, person-high", (_, s) => {
    graph.pose(s);
    const box = graph.extentOf("mannequin")!;
    expect(Math.abs(box.min.z)).toBeLessThanOrEqual(FLOOR_TOLERANCE_M);
    expect(box.max.z).toBeGreaterThan(1.6);
    expect(box.max.z).toBeLessThan(2.0);
    if (s?.mannequin) {
      // it is drawn where the state says the person stands
      expect((box.min.x + box.max.x) / 2).toBeCloseTo(s.mannequin.pos[0], 1);
      expect((box.min.y + box.max.y) / 2).toBeCloseTo(s.mannequin.pos[1], 1);
    }
  });

  it("a person reported above the floor is drawn there, not snapped down (the check is real)", () => {
    graph.pose(state({ name: "mannequin", pos: [1, 1, 0.5], quat: [1, 0, 0, 0] }));
    expect(graph.extentOf("mannequin")!.min.z).toBeGreaterThan(0.4);
  });
});
