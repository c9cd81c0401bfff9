// How old every live value is, and whether it may still be shown as current. Pure.
import type { ConnectionState } from "../stores/system";

/** A robot's state arrives at 30 Hz and the socket carries a heartbeat every second: a state
 * older than this is no longer "now" (well inside the 3 s, with room for a slow tab). */
export const STALE_AFTER_MS = 1_500;

export type StaleReason = "telemetry" | "robot" | "no-data";

export interface Liveness {
  /** The state may be shown as current. */
  live: boolean;
  /** Seconds since the last state of this robot reached the browser; null when none ever did. */
  ageS: number | null;
  /** Why it is not live: the dashboard's socket is down, the robot's link is down or silent, or no state yet. */
  reason: StaleReason | null;
}

export interface LivenessInput {
  connection: ConnectionState;
  /** The robot's link as the server last announced it (undefined: not announced). */
  linked: boolean | undefined;
  /** Browser clock (ms) when the robot's last state arrived; undefined when none did. */
  receivedAt: number | undefined;
  now: number;
}

export function robotLiveness({ connection, linked, receivedAt, now }: LivenessInput): Liveness {
  const ageS = receivedAt === undefined ? null : Math.max(0, (now - receivedAt) / 1000);
  if (connection !== "connected") return { live: false, ageS, reason: "telemetry" };
  if (receivedAt === undefined) return { live: false, ageS, reason: "no-data" };
  if (linked === false || now - receivedAt > STALE_AFTER_MS) return { live: false, ageS, reason: "robot" };
  return { live: true, ageS, reason: null };
}

/** "last seen 4 s ago" (whole seconds; minutes past 2 min); "never seen" without a state. */
export function lastSeenText(ageS: number | null): string {
  if (ageS === null) return "never seen";
  if (ageS < 1) return "last seen just now";
  if (ageS < 120) return `last seen ${Math.floor(ageS)} s ago`;
  return `last seen ${Math.floor(ageS / 60)} min ago`;
}

/** What the operator is told instead of a live value. */
export function staleText(l: Liveness): string {
  switch (l.reason) {
    case null:
      return "live";
    case "telemetry":
      return `telemetry down — ${lastSeenText(l.ageS)}`;
    case "robot":
      return `robot silent — ${lastSeenText(l.ageS)}`;
    case "no-data":
      return "no state received yet";
  }
}
