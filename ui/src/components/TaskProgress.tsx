// Live progress of one execution: its steps with skill and status, then the final status; a
// failed step says why, a refused task keeps its reason here.
import { Link } from "react-router";
import { useExecution, useExecutionAnalysis, useRobotModel, useSafetyEvents, useTrace } from "../api/queries";
import { isTerminal } from "../api/status";
import type { ExecutionAnalysis } from "../api/types";
import { explainStep, type StepAnalysis } from "../live/stepCause";
import { useRobotStore } from "../stores/robot";
import type { TrackedTask } from "../stores/ui";
import { ms } from "./fmt";
import { StepCauseView } from "./StepCauseView";
import { finishedSteps, mergeSteps, resolveStatus, resultSteps } from "./taskProgress";

export function TaskProgress({ task }: { task: TrackedTask }) {
  if (task.status === "refused") return <Refused task={task} />;
  return <Running task={task} />;
}

function Refused({ task }: { task: TrackedTask }) {
  return (
    <div className="task-progress" data-testid="task-progress" data-request-id="">
      <p>
        <strong>{task.task}</strong> on {task.robotId} —{" "}
        <span className="status status-refused" data-testid="task-status">
          refused
        </span>
      </p>
      <p className="refusal" data-testid="task-refusal">
        {task.refusal ?? "the planner refused the task"}
      </p>
      <p className="muted">Nothing was sent to the robot.</p>
    </div>
  );
}

function Running({ task }: { task: TrackedTask }) {
  const polled = useExecution(task.requestId);
  const live = useRobotStore((s) => s.progress[task.requestId]);
  const liveStatus = useRobotStore((s) => s.executions[task.requestId]?.status);
  const status = resolveStatus(task.status, polled.data?.status, liveStatus);
  const steps = mergeSteps(task.steps, polled.data, live);
  const failed = isTerminal(status) && status !== "succeeded";
  const total = polled.data?.steps_total ?? steps.length;

  return (
    <div className="task-progress" data-testid="task-progress" data-request-id={task.requestId}>
      <p>
        <strong>{task.task}</strong> on {task.robotId} —{" "}
        <span className={`status status-${status}`} data-testid="task-status">
          {status}
        </span>{" "}
        <span className="muted" data-testid="task-step-count">
          ({finishedSteps(steps)}/{total} steps run{polled.data?.total_time_ms != null ? `, ${ms(polled.data.total_time_ms)}` : ""})
        </span>
      </p>
      <ol className="steps" data-testid="task-steps">
        {steps.map((s) => (
          <li key={s.step_id} data-testid="task-step" data-status={s.status}>
            <span className={`status status-${s.status.replace(" ", "-")}`}>{s.status}</span> <code>{s.skill_id}</code> {s.text}
            {failed && (s.status === "failed" || s.status === status) && s.status !== "not run" ? (
              <FailedStep requestId={task.requestId} robotId={task.robotId} stepId={s.step_id} index={s.index} />
            ) : null}
          </li>
        ))}
      </ol>
      {failed && !steps.some((s) => s.status === "failed" || s.status === status) && polled.data?.error ? (
        <p className="error-text">Error: {polled.data.error}</p>
      ) : null}
      <Link to={`/observability?request=${encodeURIComponent(task.requestId)}`}>Trace of this execution</Link>
    </div>
  );
}

function FailedStep({ requestId, robotId, stepId, index }: { requestId: string; robotId: string; stepId: string; index: number }) {
  const execution = useExecution(requestId);
  const trace = useTrace(requestId);
  const events = useSafetyEvents(null, 1000, requestId);
  const analysis = useExecutionAnalysis(requestId, true);
  const model = useRobotModel(robotId);
  const outcome = resultSteps(execution.data)[index];
  const failure = outcome?.failure ?? execution.data?.error ?? null;
  const cause = explainStep({
    failure,
    events: events.data ?? [],
    spans: trace.data?.spans ?? [],
    stepId,
    jointNames: model.data?.joint_names,
    analysis: stepAnalysis(analysis.data, stepId),
  });
  return <StepCauseView cause={cause} requestId={requestId} jointNames={model.data?.joint_names} />;
}

/** The server's best cause for this step, when its analysis is about this step. */
function stepAnalysis(a: ExecutionAnalysis | undefined, stepId: string): StepAnalysis | null {
  if (!a || a.failed_step !== stepId || !a.causes?.length) return null;
  const top = a.causes[0]!;
  return { step_id: stepId, summary: top.explanation || top.title, cause: top.title, phase: a.failed_phase, rule: top.cause, remedy: top.remedy };
}
