// Forward kinematics of a RobotModel for one RobotState (MuJoCo conventions, z up).
import type { ModelJoint, RobotModel, RobotState, Vec3 } from "../api/types";
import { axisAngle, compose, IDENTITY, rotate, transformPoint, type Pose } from "./pose";

type JointIndex = Map<string, ModelJoint>;

export function indexJoints(model: RobotModel): JointIndex {
  const index: JointIndex = new Map();
  for (const body of model.bodies) for (const j of body.joints) index.set(j.name, j);
  return index;
}

/** θ = q − qpos0 of a joint: from the state, through a coupling, or 0. */
export function jointAngle(
  joint: ModelJoint,
  q: readonly number[] | null,
  joints: JointIndex,
  depth = 0,
): number {
  if (joint.state_index !== null && joint.state_index !== undefined) {
    const value = q?.[joint.state_index];
    return value === undefined || !Number.isFinite(value) ? 0 : value - joint.qpos0;
  }
  if (joint.coupled && depth < 8) {
    const other = joints.get(joint.coupled.joint);
    if (!other) return 0;
    const x = jointAngle(other, q, joints, depth + 1);
    return joint.coupled.polycoef.reduce((sum, c, k) => sum + c * x ** k, 0);
  }
  return 0;
}

/** The transform a joint adds at angle (or displacement) θ. */
export function jointTransform(joint: ModelJoint, theta: number): Pose {
  if (theta === 0) return IDENTITY;
  if (joint.type === "slide") {
    return { p: [joint.axis[0] * theta, joint.axis[1] * theta, joint.axis[2] * theta], q: [1, 0, 0, 0] };
  }
  if (joint.type === "hinge") {
    const r = axisAngle(joint.axis, theta);
    const rp = rotate(r, joint.pos);
    return { p: [joint.pos[0] - rp[0], joint.pos[1] - rp[1], joint.pos[2] - rp[2]], q: r };
  }
  return IDENTITY; // free / ball joints are not driven by state.q
}

/** World pose of every body, index-aligned with model.bodies. */
export function forwardKinematics(model: RobotModel, state: RobotState | null, joints = indexJoints(model)): Pose[] {
  const q = state?.q ?? null;
  const direct = new Map<string, Pose>();
  if (state) {
    for (const o of state.objects ?? []) direct.set(o.name, { p: o.pos, q: o.quat });
    if (model.mannequin && state.mannequin) direct.set(model.mannequin, { p: state.mannequin.pos, q: state.mannequin.quat });
  }
  const posedDirectly = new Set<string>(model.objects);
  if (model.mannequin) posedDirectly.add(model.mannequin);

  const poses: Pose[] = [];
  model.bodies.forEach((body, i) => {
    const given = direct.get(body.name);
    if (given && posedDirectly.has(body.name)) {
      poses.push(given);
      return;
    }
    const parent = body.parent >= 0 && body.parent < i ? poses[body.parent]! : IDENTITY;
    let pose = compose(parent, { p: body.pos, q: body.quat });
    if (!posedDirectly.has(body.name)) {
      for (const j of body.joints) pose = compose(pose, jointTransform(j, jointAngle(j, q, joints)));
    }
    poses.push(pose);
  });
  return poses;
}

export type HandSide = "left" | "right";

/** World positions of the grasp sites. */
export function handPositions(model: RobotModel, poses: Pose[]): Partial<Record<HandSide, Vec3>> {
  const out: Partial<Record<HandSide, Vec3>> = {};
  for (const side of ["left", "right"] as const) {
    const site = model.hand_sites?.[side];
    const pose = site ? poses[site.body] : undefined;
    if (site && pose) out[side] = transformPoint(pose, site.pos);
  }
  return out;
}
