// Combines what is known about a running task: the plan's steps, the polled execution and the
// live progress / execution messages. Pure functions.
import { isTerminal } from "../api/status";
import type { ExecutionOut, PlanStep } from "../api/types";
import { laterStatus, type StepLive } from "../stores/robot";

export interface StepView {
  step_id: string;
  index: number;
  text: string;
  skill_id: string;
  /** pending, running, succeeded, failed; once the execution is over, a step caught running
   * takes the execution's end (interrupted, cancelled, failed) and one never started is "not run". */
  status: string;
}

export const NOT_RUN = "not run";

export function mergeSteps(
  planSteps: PlanStep[],
  polled: ExecutionOut | undefined,
  live: Record<string, StepLive> | undefined,
): StepView[] {
  const status = new Map<string, string>();
  const skill = new Map<string, string>();
  for (const p of polled?.progress ?? []) {
    status.set(p.step_id, laterStatus(status.get(p.step_id), p.status));
    skill.set(p.step_id, p.skill_id);
  }
  for (const p of Object.values(live ?? {})) {
    status.set(p.step_id, laterStatus(status.get(p.step_id), p.status));
    skill.set(p.step_id, p.skill_id);
  }
  // What the stored result says each step did (the progress list is only kept while it runs).
  const outcomes = resultSteps(polled);
  const steps = planSteps.length ? planSteps : (polled?.plan?.steps ?? []);
  const final = isTerminal(polled?.status) ? polled!.status : null;
  return steps.map((s, index) => {
    let st = status.get(s.step_id) ?? "pending";
    const outcome = outcomes[index];
    if (outcome) st = outcome.success ? "succeeded" : "failed";
    if (final === "succeeded") st = "succeeded"; // a succeeded execution finished every step
    else if (final && st === "running") st = final === "refused" ? "failed" : final;
    else if (final && st === "pending") st = NOT_RUN;
    return { step_id: s.step_id, index, text: s.text, skill_id: skill.get(s.step_id) ?? s.skill_id, status: st };
  });
}

/** Steps that ran to an end: the one count the task box and the executions table both show. */
export function finishedSteps(steps: StepView[]): number {
  return steps.filter((s) => s.status === "succeeded" || s.status === "failed").length;
}

export interface ResultStep {
  skill: string;
  success: boolean;
  failure?: string | null;
  cause?: string | null;
  duration_s?: number;
  interventions?: number;
  postconditions?: { name?: string; holds?: boolean; detail?: string }[];
}

/** The per-step outcomes of a finished execution's stored result (in the order they ran). */
export function resultSteps(execution: ExecutionOut | undefined): ResultStep[] {
  const outcome = (execution?.result as { outcome?: { steps?: ResultStep[] } } | null | undefined)?.outcome;
  return Array.isArray(outcome?.steps) ? outcome.steps : [];
}

/** The execution's status: a finished one wins, the poll is preferred over the live message. */
export function resolveStatus(accepted: string, polled: string | undefined, live: string | undefined): string {
  if (isTerminal(polled)) return polled!;
  if (isTerminal(live)) return live!;
  return polled ?? live ?? accepted;
}
