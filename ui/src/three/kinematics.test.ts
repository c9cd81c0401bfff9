import { describe, expect, it } from "vitest";
import type { ModelBody, RobotModel, RobotState, Vec3 } from "../api/types";
import { forwardKinematics, handPositions, jointAngle, indexJoints } from "./kinematics";
import { transformPoint } from "./pose";

function body(partial: Partial<ModelBody> & Pick<ModelBody, "name" | "parent">): ModelBody {
  return { pos: [0, 0, 0], quat: [1, 0, 0, 0], role: "robot", joints: [], geoms: [], ...partial };
}

function state(q: number[], extra: Partial<RobotState> = {}): RobotState {
  return {
    robot_id: "r",
    t: 0,
    joint_names: q.map((_, i) => `j${i}`),
    q,
    dq: q.map(() => 0),
    safety: null,
    timing: {},
    objects: [],
    busy: false,
    fault: null,
    ...extra,
  };
}

/** world ─ upper (hinge about z at its origin, state 0) ─ lower at x = 1 (hinge about y at x = 0.5, coupled) */
function arm(): RobotModel {
  return {
    robot_id: "r",
    joint_names: ["shoulder", "wrist_slide"],
    bodies: [
      body({ name: "world", parent: -1, role: "world" }),
      body({
        name: "upper",
        parent: 0,
        pos: [0, 0, 1],
        joints: [{ name: "shoulder", type: "hinge", axis: [0, 0, 1], pos: [0, 0, 0], qpos0: 0, state_index: 0 }],
      }),
      body({
        name: "lower",
        parent: 1,
        pos: [1, 0, 0],
        joints: [
          {
            name: "elbow",
            type: "hinge",
            axis: [0, 1, 0],
            pos: [0, 0, 0],
            qpos0: 0,
            state_index: null,
            coupled: { joint: "shoulder", polycoef: [0, 2, 0, 0, 0] },
          },
        ],
      }),
      body({
        name: "slider",
        parent: 2,
        pos: [0, 0, 0],
        joints: [{ name: "wrist_slide", type: "slide", axis: [1, 0, 0], pos: [0, 0, 0], qpos0: 0.1, state_index: 1 }],
      }),
      body({ name: "red_cube", parent: 0, pos: [0.5, 0.5, 0.8], role: "object" }),
      body({ name: "mannequin", parent: 0, pos: [2, 0, 0], role: "mannequin" }),
    ],
    objects: ["red_cube"],
    mannequin: "mannequin",
    hand_sites: { right: { body: 3, pos: [0.1, 0, 0] } },
  };
}

function expectVec(actual: Vec3 | undefined, expected: Vec3) {
  expect(actual).toBeDefined();
  actual!.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 9));
}

describe("forwardKinematics", () => {
  it("puts every body at its rest pose without a state", () => {
    const poses = forwardKinematics(arm(), null);
    expectVec(poses[1]!.p, [0, 0, 1]);
    expectVec(poses[2]!.p, [1, 0, 1]);
    expectVec(poses[4]!.p, [0.5, 0.5, 0.8]); // objects at their body pos before the first state
    expectVec(poses[5]!.p, [2, 0, 0]);
  });

  it("a hinge rotates the child body about the joint axis", () => {
    const poses = forwardKinematics(arm(), state([Math.PI / 2, 0.1]));
    // the shoulder turns 90° about z: the lower body at x = 1 swings to y = 1
    expectVec(poses[2]!.p, [0, 1, 1]);
    // the upper body's own x axis now points along world y
    expectVec(transformPoint(poses[1]!, [1, 0, 0]), [0, 1, 1]);
    // the coupled elbow (2 × shoulder = π about y) flips the lower body's z axis
    expectVec(transformPoint(poses[2]!, [0, 0, 1]), [0, 1, 0]);
  });

  it("a hinge off the body origin rotates about the joint position", () => {
    const model = arm();
    model.bodies[1]!.joints[0]!.pos = [0.5, 0, 0];
    const poses = forwardKinematics(model, state([Math.PI, 0.1]));
    // rotating 180° about the z axis through x = 0.5: the body origin goes to x = 1, the child to x = 0
    expectVec(poses[1]!.p, [1, 0, 1]);
    expectVec(poses[2]!.p, [0, 0, 1]);
  });

  it("a coupled joint follows its polynomial of the other joint", () => {
    const model = arm();
    const joints = indexJoints(model);
    const elbow = model.bodies[2]!.joints[0]!;
    expect(jointAngle(elbow, [0.3, 0], joints)).toBeCloseTo(0.6, 12);
    elbow.coupled = { joint: "shoulder", polycoef: [0.1, 0, 1, 0, 0] };
    expect(jointAngle(elbow, [0.3, 0], joints)).toBeCloseTo(0.1 + 0.09, 12);
    elbow.coupled = { joint: "missing", polycoef: [0, 1] };
    expect(jointAngle(elbow, [0.3, 0], joints)).toBe(0);
  });

  it("a slide moves along its axis by q − qpos0, and the hand site follows", () => {
    const model = arm();
    const poses = forwardKinematics(model, state([0, 0.35]));
    expectVec(poses[3]!.p, [1.25, 0, 1]);
    expectVec(handPositions(model, poses).right, [1.35, 0, 1]);
    expect(handPositions(model, poses).left).toBeUndefined();
  });

  it("objects and the mannequin take their pose from the state, ignoring joints", () => {
    const s = state([0, 0.1], {
      objects: [{ name: "red_cube", pos: [0.4, -0.2, 0.77], quat: [0, 0, 0, 1] }],
      mannequin: { name: "mannequin", pos: [1.5, 1, 0], quat: [1, 0, 0, 0] },
    });
    const poses = forwardKinematics(arm(), s);
    expectVec(poses[4]!.p, [0.4, -0.2, 0.77]);
    expect(poses[4]!.q).toEqual([0, 0, 0, 1]);
    expectVec(poses[5]!.p, [1.5, 1, 0]);
  });
});
