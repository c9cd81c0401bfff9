import { describe, expect, it } from "vitest";
import type { ExecutionOut, PlanStep } from "../api/types";
import { finishedSteps, mergeSteps, NOT_RUN, resolveStatus } from "./taskProgress";

const step = (id: string, skill: string): PlanStep => ({
  step_id: id,
  text: `do ${skill}`,
  skill_id: skill,
  skill_version: "1.0.0",
  skill_ids: [skill],
  weights: [1],
  confidence: 1,
  parameters: {},
  tier: "control",
});

const plan = [step("s1", "grasp"), step("s2", "lift"), step("s3", "place")];

function execution(partial: Partial<ExecutionOut>): ExecutionOut {
  return {
    request_id: "r",
    robot_id: "thor",
    status: "running",
    task_description: "t",
    progress: [],
    steps_done: 0,
    steps_total: 3,
    plan: null,
    result: null,
    error: null,
    created_at: null,
    started_at: null,
    finished_at: null,
    planning_time_ms: null,
    total_time_ms: null,
    ...partial,
  };
}

describe("mergeSteps", () => {
  it("steps start pending and take the later of polled and live status", () => {
    const polled = execution({
      progress: [
        { step_id: "s1", index: 0, total: 3, skill_id: "grasp", status: "running" },
        { step_id: "s1", index: 0, total: 3, skill_id: "grasp", status: "succeeded" },
      ],
    });
    const live = { s2: { step_id: "s2", index: 1, total: 3, skill_id: "lift", status: "running" } };
    expect(mergeSteps(plan, polled, live).map((s) => s.status)).toEqual(["succeeded", "running", "pending"]);
  });

  it("a succeeded execution shows every step succeeded", () => {
    expect(mergeSteps(plan, execution({ status: "succeeded" }), undefined).every((s) => s.status === "succeeded")).toBe(true);
  });

  it("a failed step stays failed", () => {
    const live = { s1: { step_id: "s1", index: 0, total: 3, skill_id: "grasp", status: "failed" } };
    expect(mergeSteps(plan, execution({ status: "failed" }), live)[0]!.status).toBe("failed");
  });
});

describe("after an outage", () => {
  it("a step still marked running takes the execution's end; steps never started are not run", () => {
    // the server restarted mid-task: the live store saw step 1 running, the poll says interrupted
    const live = { s1: { step_id: "s1", index: 0, total: 3, skill_id: "grasp", status: "running" } };
    const steps = mergeSteps(plan, execution({ status: "interrupted" }), live);
    expect(steps.map((s) => s.status)).toEqual(["interrupted", NOT_RUN, NOT_RUN]);
    expect(finishedSteps(steps)).toBe(0);
  });

  it("the stored result decides each step that ran", () => {
    const result = { outcome: { steps: [{ skill: "grasp", success: true }, { skill: "lift", success: false, failure: "slipped" }] } };
    const live = { s2: { step_id: "s2", index: 1, total: 3, skill_id: "lift", status: "running" } };
    const steps = mergeSteps(plan, execution({ status: "failed", result }), live);
    expect(steps.map((s) => s.status)).toEqual(["succeeded", "failed", NOT_RUN]);
    // one count for the task box and the executions table: steps that ran to an end
    expect(finishedSteps(steps)).toBe(2);
  });
});

describe("resolveStatus", () => {
  it("prefers a finished status", () => {
    expect(resolveStatus("running", "running", "succeeded")).toBe("succeeded");
    expect(resolveStatus("running", "failed", "running")).toBe("failed");
    expect(resolveStatus("running", undefined, undefined)).toBe("running");
    expect(resolveStatus("planning", "running", undefined)).toBe("running");
  });
});
