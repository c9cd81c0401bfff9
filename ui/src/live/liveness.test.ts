import { describe, expect, it } from "vitest";
import { lastSeenText, robotLiveness, STALE_AFTER_MS, staleText } from "./liveness";

const now = 1_000_000;

describe("robotLiveness", () => {
  it("a fresh state over a connected socket is live", () => {
    const l = robotLiveness({ connection: "connected", linked: true, receivedAt: now - 40, now });
    expect(l).toEqual({ live: true, ageS: 0.04, reason: null });
  });

  it("a socket that is not connected makes every value stale at once, whatever its age", () => {
    for (const connection of ["connecting", "disconnecting", "disconnected"] as const) {
      const l = robotLiveness({ connection, linked: true, receivedAt: now - 10, now });
      expect(l.live).toBe(false);
      expect(l.reason).toBe("telemetry");
    }
  });

  it("a state older than the threshold is stale even while the socket looks open (a frozen server)", () => {
    const fresh = robotLiveness({ connection: "connected", linked: true, receivedAt: now - STALE_AFTER_MS, now });
    const old = robotLiveness({ connection: "connected", linked: true, receivedAt: now - STALE_AFTER_MS - 1, now });
    expect(fresh.live).toBe(true);
    expect(old).toMatchObject({ live: false, reason: "robot" });
    // the bound: stale is shown within 3 s of the last state
    expect(STALE_AFTER_MS).toBeLessThan(3_000);
  });

  it("a robot whose link the server announced down is stale; one never heard from has no age", () => {
    expect(robotLiveness({ connection: "connected", linked: false, receivedAt: now - 5, now }).reason).toBe("robot");
    expect(robotLiveness({ connection: "connected", linked: true, receivedAt: undefined, now })).toEqual({
      live: false,
      ageS: null,
      reason: "no-data",
    });
  });
});

describe("lastSeenText", () => {
  it("counts whole seconds, then minutes", () => {
    expect(lastSeenText(null)).toBe("never seen");
    expect(lastSeenText(0.4)).toBe("last seen just now");
    expect(lastSeenText(3.9)).toBe("last seen 3 s ago");
    expect(lastSeenText(119)).toBe("last seen 119 s ago");
    expect(lastSeenText(185)).toBe("last seen 3 min ago");
  });

  it("says why a value is not live, and never 'connected'", () => {
    const down = staleText({ live: false, ageS: 4.2, reason: "telemetry" });
    expect(down).toBe("telemetry down — last seen 4 s ago");
    expect(down).not.toMatch(/connected/);
  });
});
