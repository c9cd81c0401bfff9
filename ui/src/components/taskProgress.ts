// Combines what is known about a running task: the plan's steps, the polled execution and the
// live progress / execution messages. Pure functions.
import { isTerminal } from "../api/queries";
import type { ExecutionOut, PlanStep } from "../api/types";
import { laterStatus, type StepLive } from "../stores/robot";

export interface StepView {
  step_id: string;
  index: number;
  text: string;
  skill_id: string;
  status: string;
}

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
  const steps = planSteps.length ? planSteps : (polled?.plan?.steps ?? []);
  const done = polled?.status === "succeeded";
  return steps.map((s, index) => ({
    step_id: s.step_id,
    index,
    text: s.text,
    skill_id: skill.get(s.step_id) ?? s.skill_id,
    // a succeeded execution finished every step, even if a message was missed
    status: done ? "succeeded" : (status.get(s.step_id) ?? "pending"),
  }));
}

/** The execution's status: a finished one wins, the poll is preferred over the live message. */
export function resolveStatus(accepted: string, polled: string | undefined, live: string | undefined): string {
  if (isTerminal(polled)) return polled!;
  if (isTerminal(live)) return live!;
  return polled ?? live ?? accepted;
}
