import { describe, expect, it } from "vitest";
import { eventSentence, eventSubject, eventValue } from "./safetyText";

const base = { joint: -1, joint_name: null, value: 0, limit: 0 };

describe("safety events in words", () => {
  it("a keep-out event names its zone and point, never a joint", () => {
    const e = { ...base, rule_name: "KEEP_OUT_ZONE", joint: 1, value: 0.12, limit: 0 };
    // an older server: no zone name yet; the index is a monitored point, not waist_yaw
    expect(eventSubject(e, ["waist_pitch", "waist_yaw"])).toBe("a keep-out zone, monitored point #1");
    expect(eventSubject({ ...e, zone_name: "shelf_keepout", point_name: "right hand" })).toBe("zone 'shelf_keepout', right hand");
  });

  it("watchdog values are milliseconds without a command", () => {
    expect(eventValue({ ...base, rule_name: "WATCHDOG_HOLD", value: 13, limit: 0 })).toBe("13 ms without a command");
    expect(eventSentence({ ...base, rule_name: "WATCHDOG_PROTECTIVE_STOP", value: 40, limit: 0 })).toBe(
      "watchdog: no command for too long, protective stop: 40 ms without a command",
    );
  });

  it("joint limits carry the joint's name and units", () => {
    const e = { ...base, rule_name: "VELOCITY_LIMIT", joint: 2, value: 1.25, limit: 1 };
    expect(eventSubject(e, ["a", "b", "r_elbow"])).toBe("r_elbow");
    expect(eventValue(e)).toBe("1.250 rad/s (limit 1.000 rad/s)");
    expect(eventValue({ ...e, rule_name: "EFFORT_LIMIT" })).toBe("1.250 N·m (limit 1.000 N·m)");
  });

  it("separation in metres, e-stop by category, unknown values as —", () => {
    expect(eventValue({ ...base, rule_name: "SEPARATION_STOP", value: 0.31, limit: 0.5 })).toBe("person at 0.31 m (protective distance 0.50 m)");
    expect(eventValue({ ...base, rule_name: "ESTOP", value: 1 })).toBe("category 1");
    expect(eventValue({ ...base, rule_name: "POSITION_LIMIT", value: null, limit: 1 })).toBe("— (limit 1.000 rad)");
  });
});
