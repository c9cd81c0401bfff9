import { beforeEach, describe, expect, it } from "vitest";
import type { RobotState, TimingSnapshot } from "../api/types";
import type { ProgressMessage } from "../api/telemetry";
import { dispatchTelemetry } from "./dispatch";
import { laterStatus, TIMING_WINDOW, useRobotStore } from "./robot";
import { useSystemStore } from "./system";

const initial = useRobotStore.getState();

function snapshot(rate: number): TimingSnapshot {
  return {
    name: "safety",
    period_s: 0.001,
    rate_hz: rate,
    ticks: 1,
    late_ticks: 0,
    late_fraction: 0,
    overruns: 0,
    missed: 0,
    protective_stops: 0,
    jitter_us: { p50: 1, p99: 2, p99_9: 3, max: 4 },
    work_us: { p50: 1, p99: 2, max: 3 },
  };
}

function state(timing: RobotState["timing"] = {}): RobotState {
  return { robot_id: "thor", t: 1, joint_names: [], q: [], dq: [], safety: null, timing, objects: [], busy: false, fault: null };
}

function progress(partial: Partial<ProgressMessage>): ProgressMessage {
  return {
    type: "progress",
    robot_id: "thor",
    request_id: "req",
    step_id: "s1",
    index: 0,
    total: 2,
    skill_id: "grasp",
    status: "running",
    ...partial,
  };
}

describe("robot store", () => {
  beforeEach(() => useRobotStore.setState(initial, true));

  it("keeps the latest state and marks the robot linked", () => {
    dispatchTelemetry({ type: "state", robot_id: "thor", state: state(), server_time: 10 });
    const s = useRobotStore.getState();
    expect(s.states.thor?.t).toBe(1);
    expect(s.linked.thor).toBe(true);
    dispatchTelemetry({ type: "robot_disconnected", robot_id: "thor" });
    expect(useRobotStore.getState().linked.thor).toBe(false);
  });

  it("records no timing history for lock-step states (timing {})", () => {
    for (let i = 0; i < 10; i++) useRobotStore.getState().applyState("thor", state(), i);
    expect(useRobotStore.getState().timing.thor).toBeUndefined();
  });

  it("samples timing at most every 0.5 s in a bounded window", () => {
    const apply = (t: number) => useRobotStore.getState().applyState("thor", state({ safety: snapshot(t) }), t);
    apply(0);
    apply(0.1); // too soon: dropped
    apply(0.5);
    expect(useRobotStore.getState().timing.thor?.map((s) => s.at)).toEqual([0, 0.5]);
    for (let i = 2; i < TIMING_WINDOW + 50; i++) apply(i * 0.5);
    const samples = useRobotStore.getState().timing.thor!;
    expect(samples.length).toBe(TIMING_WINDOW);
    expect(samples[samples.length - 1]!.safety?.rate_hz).toBe((TIMING_WINDOW + 49) * 0.5);
  });

  it("merges step progress without going backwards, and tracks planned hands", () => {
    const { applyProgress } = useRobotStore.getState();
    applyProgress(progress({ status: "running" }));
    applyProgress(progress({ status: "running", planned_hands: { right: [[0.4, -0.2, 0.8]] } }));
    expect(useRobotStore.getState().plannedHands.thor?.hands.right).toEqual([[0.4, -0.2, 0.8]]);
    applyProgress(progress({ status: "succeeded", planned_hands: { right: [[0.4, -0.2, 0.8]] } }));
    applyProgress(progress({ status: "running" })); // a late duplicate
    const s = useRobotStore.getState();
    expect(s.progress.req?.s1?.status).toBe("succeeded");
    expect(s.plannedHands.thor).toBeNull();
  });

  it("records execution status and live safety events, newest first", () => {
    dispatchTelemetry({ type: "execution", robot_id: "thor", request_id: "req", status: "succeeded" });
    expect(useRobotStore.getState().executions.req?.status).toBe("succeeded");
    const ev = { type: "safety_event" as const, robot_id: "thor", t: 1, tick: 1, rule: 3, rule_name: "VELOCITY_LIMIT", joint: 2, joint_name: "r_elbow", value: 1, limit: 0.5 };
    dispatchTelemetry({ ...ev, seq: 1 }, 100);
    dispatchTelemetry({ ...ev, seq: 2 }, 200);
    expect(useRobotStore.getState().liveEvents.map((e) => e.seq)).toEqual([2, 1]);
  });

  it("stamps each robot's state with the browser time it arrived (its age)", () => {
    dispatchTelemetry({ type: "state", robot_id: "thor", state: state(), server_time: 10 }, 5_000);
    expect(useRobotStore.getState().receivedAt.thor).toBe(5_000);
  });

  it("reconcile forgets what may have ended during an outage: running steps, planned paths, open executions", () => {
    const { applyProgress, applyExecution } = useRobotStore.getState();
    applyProgress(progress({ step_id: "s1", status: "succeeded" }));
    applyProgress(progress({ step_id: "s2", status: "running", planned_hands: { left: [[0.3, 0.2, 0.9]] } }));
    applyExecution({ type: "execution", robot_id: "thor", request_id: "req", status: "running" });
    applyExecution({ type: "execution", robot_id: "thor", request_id: "old", status: "failed" });
    useRobotStore.getState().reconcile();
    const s = useRobotStore.getState();
    expect(Object.keys(s.progress.req ?? {})).toEqual(["s1"]);
    expect(s.plannedHands.thor ?? null).toBeNull();
    expect(Object.keys(s.executions)).toEqual(["old"]);
  });

  it("heartbeats update the server time", () => {
    dispatchTelemetry({ type: "heartbeat", server_time: 42 });
    expect(useSystemStore.getState().serverTime).toBe(42);
  });

  it("laterStatus ranks pending < running < finished", () => {
    expect(laterStatus(undefined, "running")).toBe("running");
    expect(laterStatus("running", "succeeded")).toBe("succeeded");
    expect(laterStatus("failed", "running")).toBe("failed");
  });
});
