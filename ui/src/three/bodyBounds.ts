// The axis-aligned box (world frame, m) around an object or a surface of the robot's world: what
// "place a keep-out zone around the shelf" means. Pure.
import type { ModelBody, ModelGeom, PosedObject, RobotModel, Vec3 } from "../api/types";
import { compose, IDENTITY, rotate, type Pose } from "./pose";

export interface Bounds {
  center: Vec3;
  half: Vec3;
}

/** Bodies a zone can be put around: the world's objects and its scenery (table, shelf), by name. */
export function zoneTargets(model: RobotModel): string[] {
  return model.bodies.filter((b) => (b.role === "object" || b.role === "scenery") && b.geoms.length > 0).map((b) => b.name);
}

/** A geom's half extents in its own frame (MuJoCo sizes: box half sizes, sphere radius,
 * capsule/cylinder radius and half length, ellipsoid radii). Planes have no finite box. */
function geomHalf(g: ModelGeom): Vec3 | null {
  const [a = 0, b = 0, c = 0] = g.size;
  switch (g.type) {
    case "box":
    case "ellipsoid":
      return [a, b, c];
    case "sphere":
      return [a, a, a];
    case "capsule":
      return [a, a, b + a];
    case "cylinder":
      return [a, a, b];
    default:
      return null;
  }
}

/** A body's pose in the world: streamed for objects, else its chain of fixed offsets. */
function worldPose(model: RobotModel, index: number, objects: PosedObject[]): Pose {
  const body = model.bodies[index]!;
  const posed = objects.find((o) => o.name === body.name);
  if (posed) return { p: posed.pos, q: posed.quat };
  const local: Pose = { p: body.pos, q: body.quat };
  return body.parent >= 0 && body.parent !== index ? compose(worldPose(model, body.parent, objects), local) : local;
}

/** The world box around `name`'s geoms, grown by `margin` m on every side; null for an unknown
 * name or a body with no finite geometry. */
export function bodyBounds(model: RobotModel, name: string, objects: PosedObject[] = [], margin = 0): Bounds | null {
  const index = model.bodies.findIndex((b: ModelBody) => b.name === name);
  if (index < 0) return null;
  const pose = index === 0 ? IDENTITY : worldPose(model, index, objects);
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const g of model.bodies[index]!.geoms) {
    const h = geomHalf(g);
    if (!h) continue;
    const gp = compose(pose, { p: g.pos, q: g.quat });
    // the rotated box's extent along each world axis: Σ |R_ij| h_j
    const ex = rotate(gp.q, [1, 0, 0]);
    const ey = rotate(gp.q, [0, 1, 0]);
    const ez = rotate(gp.q, [0, 0, 1]);
    for (let i = 0; i < 3; i++) {
      const e = Math.abs(ex[i]!) * h[0] + Math.abs(ey[i]!) * h[1] + Math.abs(ez[i]!) * h[2];
      lo[i] = Math.min(lo[i]!, gp.p[i]! - e);
      hi[i] = Math.max(hi[i]!, gp.p[i]! + e);
    }
  }
  if (!Number.isFinite(lo[0])) return null;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    center: [r((lo[0] + hi[0]) / 2), r((lo[1] + hi[1]) / 2), r((lo[2] + hi[2]) / 2)],
    half: [r((hi[0] - lo[0]) / 2 + margin), r((hi[1] - lo[1]) / 2 + margin), r((hi[2] - lo[2]) / 2 + margin)],
  };
}
