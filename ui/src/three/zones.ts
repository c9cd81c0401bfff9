// Where and how big a keep-out zone is drawn (pure).
import type { Zone, ZoneOut } from "../api/types";
import { quatNormalize } from "./pose";
import type { Quat, Vec3 } from "../api/types";

/** Side of the square drawn for a half-space boundary, metres. */
export const HALFSPACE_DRAW_M = 4;

export interface ZoneShape {
  kind: "box" | "plane";
  position: Vec3;
  quat: Quat;
  size: Vec3;
}

/** The rotation taking +Z onto the unit vector n. */
function quatFromZ(n: Vec3): Quat {
  const len = Math.hypot(...n) || 1;
  const [x, y, z] = [n[0] / len, n[1] / len, n[2] / len];
  if (z < -0.999999) return [0, 1, 0, 0];
  // half-way quaternion: [1 + z, cross((0,0,1), n)]
  return quatNormalize([1 + z, -y, x, 0]);
}

export function zoneShape(zone: Zone): ZoneShape | null {
  if (zone.kind === "box") {
    const [hx, hy, hz] = zone.half_size;
    return { kind: "box", position: zone.center, quat: [1, 0, 0, 0], size: [2 * hx, 2 * hy, 2 * hz] };
  }
  if (zone.kind === "halfspace") {
    const n = zone.normal;
    const n2 = n[0] ** 2 + n[1] ** 2 + n[2] ** 2;
    if (!n2) return null;
    const k = zone.offset / n2; // the point of the plane n·x = offset nearest the origin
    return { kind: "plane", position: [n[0] * k, n[1] * k, n[2] * k], quat: quatFromZ(n), size: [HALFSPACE_DRAW_M, HALFSPACE_DRAW_M, 0] };
  }
  return null;
}

/** Zones that apply to this robot: its own and those for every robot. */
export function zonesFor(zones: ZoneOut[], robotId: string | null): ZoneOut[] {
  return zones.filter((z) => z.robot_id === null || z.robot_id === robotId);
}
