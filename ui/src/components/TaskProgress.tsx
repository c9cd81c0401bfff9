// Live progress of one execution: its steps with skill and status, then the final status.
import { Link } from "react-router";
import { useExecution } from "../api/queries";
import { useRobotStore } from "../stores/robot";
import type { TrackedTask } from "../stores/ui";
import { ms } from "./fmt";
import { mergeSteps, resolveStatus } from "./taskProgress";

export function TaskProgress({ task }: { task: TrackedTask }) {
  const polled = useExecution(task.requestId);
  const live = useRobotStore((s) => s.progress[task.requestId]);
  const liveStatus = useRobotStore((s) => s.executions[task.requestId]?.status);
  const status = resolveStatus(task.status, polled.data?.status, liveStatus);
  const steps = mergeSteps(task.steps, polled.data, live);
  const done = steps.filter((s) => s.status === "succeeded").length;

  return (
    <div className="task-progress" data-testid="task-progress" data-request-id={task.requestId}>
      <p>
        <strong>{task.task}</strong> on {task.robotId} —{" "}
        <span className={`status status-${status}`} data-testid="task-status">
          {status}
        </span>{" "}
        <span className="muted">
          ({done}/{steps.length} steps{polled.data?.total_time_ms != null ? `, ${ms(polled.data.total_time_ms)}` : ""})
        </span>
      </p>
      <ol className="steps" data-testid="task-steps">
        {steps.map((s) => (
          <li key={s.step_id} data-testid="task-step" data-status={s.status}>
            <span className={`status status-${s.status}`}>{s.status}</span> <code>{s.skill_id}</code> {s.text}
          </li>
        ))}
      </ol>
      {polled.data?.error ? <p className="error-text">Error: {polled.data.error}</p> : null}
      <Link to={`/observability?request=${encodeURIComponent(task.requestId)}`}>Trace of this execution</Link>
    </div>
  );
}
