import { describe, expect, it } from "vitest";
import type { RobotState, SafetyStatus } from "../api/types";
import { bannerFor, describeCause } from "./banner";
import type { Liveness } from "./liveness";

const LIVE: Liveness = { live: true, ageS: 0.03, reason: null };

function state(safety: Partial<SafetyStatus> | null, t = 50): RobotState {
  const full: SafetyStatus | null = safety
    ? { mode: "RUNNING", estop_category: null, protective_stop: false, speed_scale: 1, separation_m: null, interventions: 0, power_on: true, ...safety }
    : null;
  return { robot_id: "thor", t, joint_names: [], q: [], dq: [], safety: full, timing: {}, objects: [], busy: false, fault: null };
}

describe("bannerFor", () => {
  it("nothing while the robot runs normally", () => {
    expect(bannerFor("thor", state({}), LIVE)).toBeNull();
    expect(bannerFor("thor", undefined, { live: false, ageS: null, reason: "no-data" })).toBeNull();
  });

  it("an e-stop names its category and its cause in words, and can be reset", () => {
    const cause = { rule: "ESTOP", t: 41.25, tick: 41250, detail: "an emergency stop was requested", activity: "running grasp" };
    const b = bannerFor("thor", state({ mode: "ESTOP", estop_category: 1, stop_cause: cause }, 44.45), LIVE)!;
    expect(b.kind).toBe("estop");
    expect(b.title).toBe("E-STOP (category 1)");
    expect(b.cause).toBe("an emergency stop was requested — ESTOP 3.2 s ago (t = 41.250 s) while running grasp");
    expect(b.resettable).toBe(true);
  });

  it("a protective stop shows its rule and what ran", () => {
    const cause = { rule: "WATCHDOG_PROTECTIVE_STOP", t: 2, tick: 2000, detail: "no command reached the kernel", activity: null };
    const b = bannerFor("thor", state({ mode: "PROTECTIVE_STOP", protective_stop: true, stop_cause: cause }, 2.5), LIVE)!;
    expect(b.kind).toBe("protective_stop");
    expect(b.cause).toContain("WATCHDOG_PROTECTIVE_STOP");
    expect(b.cause).toContain("no command reached the kernel");
  });

  it("a lost link wins over the last state it showed (which may be stale), and is not resettable", () => {
    const b = bannerFor("thor", state({ mode: "ESTOP", estop_category: 1 }), { live: false, ageS: 3.4, reason: "telemetry" })!;
    expect(b.kind).toBe("link");
    expect(b.title).toBe("Telemetry link lost");
    expect(b.cause).toContain("last seen 3 s ago");
    expect(b.resettable).toBe(false);
  });
});

describe("describeCause", () => {
  it("leaves out the age when the robot's clock is unknown or behind", () => {
    const cause = { rule: "SEPARATION_STOP", t: 10, tick: 1, detail: "", activity: null };
    expect(describeCause(cause, null)).toBe("stopped: a person came too close — SEPARATION_STOP (t = 10.000 s)");
    expect(describeCause(null, 3)).toBeNull();
  });
});
