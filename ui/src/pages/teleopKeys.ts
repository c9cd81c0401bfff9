// Teleop from the keyboard and a gamepad: which input moves what (pure, testable).
// The palm target moves in the world frame (x forward, y left, z up), metres per second of held key.

export type Side = "left" | "right";

export interface TeleopTarget {
  side: Side;
  pos: [number, number, number];
  grip: number;
  head: [number, number];
}

export const PALM_SPEED = 0.15; // m/s while a key is held
export const HEAD_SPEED = 0.8; // rad/s
export const KEY_AXES: Record<string, [number, number, number]> = {
  w: [1, 0, 0],
  s: [-1, 0, 0],
  a: [0, 1, 0],
  d: [0, -1, 0],
  q: [0, 0, 1],
  e: [0, 0, -1],
};
export const HEAD_KEYS: Record<string, [number, number]> = {
  arrowleft: [1, 0],
  arrowright: [-1, 0],
  arrowup: [0, -1],
  arrowdown: [0, 1],
};

/** The target after `dt` seconds with `held` keys (lower case) and an optional gamepad's axes
 * (left stick x/y, right stick y: standard mapping, dead zone 0.15). */
export function advance(target: TeleopTarget, held: Set<string>, dt: number, axes: readonly number[] = []): TeleopTarget {
  const v: [number, number, number] = [0, 0, 0];
  for (const key of held) {
    const axis = KEY_AXES[key];
    if (axis) {
      v[0] += axis[0];
      v[1] += axis[1];
      v[2] += axis[2];
    }
  }
  const dead = (x: number | undefined) => (x !== undefined && Math.abs(x) > 0.15 ? x : 0);
  v[0] -= dead(axes[1]);
  v[1] -= dead(axes[0]);
  v[2] -= dead(axes[3]);
  const head: [number, number] = [...target.head];
  for (const key of held) {
    const h = HEAD_KEYS[key];
    if (h) {
      head[0] += h[0] * HEAD_SPEED * dt;
      head[1] += h[1] * HEAD_SPEED * dt;
    }
  }
  const step = (p: number, speed: number) => p + Math.max(-1, Math.min(1, speed)) * PALM_SPEED * dt;
  const pos: [number, number, number] = [step(target.pos[0], v[0]), step(target.pos[1], v[1]), step(target.pos[2], v[2])];
  return { ...target, pos, head };
}
