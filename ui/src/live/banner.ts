// The robot-state banner: what keeps the selected robot from working now, in words. Pure.
import type { RobotState, StopCause } from "../api/types";
import { lastSeenText, type Liveness } from "./liveness";
import { ruleWords } from "./safetyText";

export type BannerKind = "link" | "estop" | "protective_stop";

export interface Banner {
  kind: BannerKind;
  robotId: string;
  title: string;
  /** The cause in words: rule, when, what was running. */
  cause: string | null;
  /** A reset from the banner can clear it (a lost link cannot be reset from here). */
  resettable: boolean;
}

/** "an emergency stop was requested — ESTOP 3.2 s ago (t = 41.250 s) while running grasp" */
export function describeCause(cause: StopCause | null | undefined, robotT: number | null): string | null {
  if (!cause) return null;
  const ago = robotT !== null && Number.isFinite(robotT) && robotT >= cause.t ? `${(robotT - cause.t).toFixed(1)} s ago ` : "";
  const doing = cause.activity ? ` while ${cause.activity}` : "";
  const detail = cause.detail || ruleWords(cause.rule);
  return `${detail} — ${cause.rule} ${ago}(t = ${cause.t.toFixed(3)} s)${doing}`;
}

export function bannerFor(robotId: string, state: RobotState | undefined, liveness: Liveness): Banner | null {
  if (!liveness.live && liveness.reason !== "no-data") {
    const where = liveness.reason === "telemetry" ? "Telemetry link lost" : `Robot ${robotId} link lost`;
    return {
      kind: "link",
      robotId,
      title: where,
      cause: `${lastSeenText(liveness.ageS)}; what is shown is not live. The robot's safety kernel keeps it safe on its own.`,
      resettable: false,
    };
  }
  const safety = state?.safety;
  if (!safety) return null;
  const cause = describeCause(safety.stop_cause, state?.t ?? null);
  if (safety.estop_category !== null || safety.mode === "ESTOP") {
    const cat = safety.estop_category !== null ? ` (category ${safety.estop_category})` : "";
    return { kind: "estop", robotId, title: `E-STOP${cat}`, cause: cause ?? ruleWords("ESTOP"), resettable: true };
  }
  if (safety.protective_stop || safety.mode === "PROTECTIVE_STOP") {
    return { kind: "protective_stop", robotId, title: "PROTECTIVE STOP", cause, resettable: true };
  }
  return null;
}
