// A rolling trail of points stamped with a time (seconds): keeps the last `windowS` seconds.
import type { Vec3 } from "../api/types";

export interface TrailPoint {
  t: number;
  p: Vec3;
}

export function appendToTrail(trail: TrailPoint[], point: TrailPoint, windowS: number): TrailPoint[] {
  const last = trail[trail.length - 1];
  // time went backwards (a world reset): start a new trail
  const base = last && point.t < last.t ? [] : trail;
  const next = [...base, point];
  const cutoff = point.t - windowS;
  let first = 0;
  while (first < next.length && next[first]!.t < cutoff) first++;
  return first ? next.slice(first) : next;
}
