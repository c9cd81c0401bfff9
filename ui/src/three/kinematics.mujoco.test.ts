// The dashboard's kinematics against MuJoCo itself: the fixture holds the humanoid's scene model
// as the server sends it, random joint states, and where MuJoCo put every body and grasp site
// (scripts/make-fk-fixture writes it; tests/test_scene_model.py checks that it is current).
import { describe, expect, it } from "vitest";
import type { RobotModel, RobotState, Vec3 } from "../api/types";
import fixture from "./fixtures/humanoid_fk.json";
import { forwardKinematics, handPositions } from "./kinematics";

interface Case {
  q: number[];
  objects: RobotState["objects"];
  mannequin: NonNullable<RobotState["mannequin"]>;
  body_pos: Vec3[];
  body_quat: [number, number, number, number][];
  hand_pos: Record<"left" | "right", Vec3>;
}

const model = fixture.model as unknown as RobotModel;
const cases = fixture.cases as unknown as Case[];

function stateOf(c: Case): RobotState {
  return {
    robot_id: "thor_001",
    t: 0,
    joint_names: model.joint_names,
    q: c.q,
    dq: c.q.map(() => 0),
    safety: null,
    timing: {},
    objects: c.objects,
    mannequin: c.mannequin,
    busy: false,
    fault: null,
  };
}

function distance(a: Vec3, b: Vec3): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

describe("forward kinematics of the real humanoid", () => {
  it("has a model with the robot's joints and bodies", () => {
    expect(model.joint_names.length).toBeGreaterThan(30);
    expect(model.bodies.length).toBe(cases[0]!.body_pos.length);
    expect(cases.length).toBeGreaterThanOrEqual(3);
  });

  it.each(cases.map((c, i) => [i, c] as const))("puts every body where MuJoCo does (state %i)", (_, c) => {
    const poses = forwardKinematics(model, stateOf(c));
    const worst = Math.max(...poses.map((pose, b) => distance(pose.p as Vec3, c.body_pos[b]!)));
    expect(worst).toBeLessThan(1e-5);
    // Orientation too: a finger link turns about its own origin, which stays put.
    const alignment = Math.min(
      ...poses.map((pose, b) => {
        const m = c.body_quat[b]!;
        return Math.abs(pose.q[0] * m[0] + pose.q[1] * m[1] + pose.q[2] * m[2] + pose.q[3] * m[3]);
      }),
    );
    expect(1 - alignment).toBeLessThan(1e-6);
    const hands = handPositions(model, poses);
    expect(distance(hands.left!, c.hand_pos.left)).toBeLessThan(1e-5);
    expect(distance(hands.right!, c.hand_pos.right)).toBeLessThan(1e-5);
  });

  it("moves the hands when the arm joints move (the fixture's states differ)", () => {
    const [a, b] = cases;
    expect(distance(a!.hand_pos.right, b!.hand_pos.right)).toBeGreaterThan(0.01);
  });
});
