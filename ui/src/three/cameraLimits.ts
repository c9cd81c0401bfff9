// Where the operator's camera may go: never inside the robot or the table, never below the
// floor, always looking at the workspace. Pure numbers, shared by the view and its tests.
import type { Vec3 } from "../api/types";

/** The workspace point the camera orbits (m, world frame): in front of the robot, table height. */
export const ORBIT_TARGET: Vec3 = [0.3, -0.1, 0.85];
export const HOME_CAMERA: Vec3 = [1.0, 2.1, 1.8];
/** m from the target: closer would put the camera into the robot or the table. */
export const MIN_DISTANCE_M = 1.0;
export const MAX_DISTANCE_M = 6.0;
/** rad from straight up: at most level with the target (table height), so never under the floor. */
export const MAX_POLAR_RAD = Math.PI / 2;
export const MIN_POLAR_RAD = 0.05;

/** The lowest a camera can be under these limits (m): above the floor by construction. */
export function lowestCameraZ(): number {
  return ORBIT_TARGET[2] + MAX_DISTANCE_M * Math.cos(MAX_POLAR_RAD);
}
