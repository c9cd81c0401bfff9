// Type a task, run it on the selected robot, follow it live; recover from the panel: reset the
// simulated world, send the arms home, retry the last task. A refusal stays here, with its reason.
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/endpoints";
import { errorMessage, isApiError } from "../api/errors";
import { useExecution, useRobots } from "../api/queries";
import { isTerminal } from "../api/status";
import { useSafetyReset } from "../hooks/useEstop";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { useRobotStore } from "../stores/robot";
import { useUiStore } from "../stores/ui";
import { Panel } from "./Panel";
import { TaskProgress } from "./TaskProgress";

export function TaskBox() {
  const robotId = useSelectedRobot();
  const task = useUiStore((s) => s.taskDraft);
  const setTask = useUiStore((s) => s.setTaskDraft);
  const tracked = useUiStore((s) => s.trackedTask);
  const track = useUiStore((s) => s.trackTask);
  const qc = useQueryClient();

  const invoke = useMutation({
    mutationFn: (description: string) => api.invokeSkill(description, robotId),
    onSuccess: (accepted, description) => {
      track({ requestId: accepted.request_id, robotId: accepted.robot_id, task: description, status: accepted.status, steps: accepted.plan.steps });
      void qc.invalidateQueries({ queryKey: ["executions"] });
    },
    onError: (error, description) => {
      // the planner's "no" (422) is the task's answer, kept in the panel; anything else a toast
      if (isApiError(error, 422) && robotId) {
        track({ requestId: "", robotId, task: description, status: "refused", steps: [], refusal: errorMessage(error) });
        void qc.invalidateQueries({ queryKey: ["executions"] });
      } else if (!isApiError(error, 401)) {
        useUiStore.getState().pushToast({ title: "Task not started", description: errorMessage(error), kind: "error" });
      }
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const description = task.trim();
    if (description) invoke.mutate(description);
  };

  return (
    <Panel title="Task" testId="task-box">
      <form className="task-form" onSubmit={submit}>
        <input
          type="text"
          data-testid="task-input"
          value={task}
          onChange={(e) => setTask(e.target.value)}
          placeholder="e.g. pick up the red cube and place it on the shelf"
          aria-label="Task"
          maxLength={2000}
        />
        <button type="submit" className="primary" data-testid="task-submit" disabled={!task.trim() || !robotId || invoke.isPending}>
          {invoke.isPending ? "Planning…" : "Run"}
        </button>
      </form>
      {robotId ? <Recovery robotId={robotId} onRetry={(t) => invoke.mutate(t)} retrying={invoke.isPending} /> : null}
      {tracked ? <TaskProgress task={tracked} /> : <p className="muted">No task started from this dashboard yet.</p>}
    </Panel>
  );
}

function Recovery({ robotId, onRetry, retrying }: { robotId: string; onRetry: (task: string) => void; retrying: boolean }) {
  const robots = useRobots();
  const simulated = robots.data?.find((r) => r.id === robotId)?.kind === "simulated";
  const busy = useRobotStore((s) => s.states[robotId]?.busy ?? false);
  const tracked = useUiStore((s) => s.trackedTask);
  const execution = useExecution(tracked?.requestId || null);
  const [seed, setSeed] = useState("0");
  const qc = useQueryClient();
  const home = useSafetyReset(true);
  const world = useMutation({
    meta: { title: "World not reset" },
    mutationFn: (s: number) => api.simReset(robotId, s),
    onSuccess: () => {
      useUiStore.getState().pushToast({ title: "World reset", description: `${robotId}: a new layout from seed ${seed}`, kind: "success" });
      void qc.invalidateQueries({ queryKey: ["robot-model", robotId] });
    },
  });
  const seedValue = Number(seed);
  const seedOk = seed.trim() !== "" && Number.isInteger(seedValue) && seedValue >= 0 && seedValue <= 2 ** 31 - 1;
  const trackedDone = tracked ? tracked.status === "refused" || isTerminal(execution.data?.status) : false;
  return (
    <div className="task-actions" data-testid="task-recovery">
      {simulated ? (
        <>
          <button
            type="button"
            data-testid="reset-world"
            disabled={busy || !seedOk || world.isPending}
            title="Simulation: lay the objects out again from the seed, the robot at rest"
            onClick={() => world.mutate(seedValue)}
          >
            {world.isPending ? "Resetting…" : "Reset world"}
          </button>
          <label className="muted">
            seed{" "}
            <input type="number" min={0} step={1} value={seed} aria-invalid={seedOk ? undefined : true} data-testid="reset-seed" onChange={(e) => setSeed(e.target.value)} />
          </label>
        </>
      ) : null}
      <button
        type="button"
        data-testid="go-home"
        disabled={busy || home.isPending}
        title="Clear a stop if one is latched, then bring the arms to their rest posture"
        onClick={() => home.mutate(robotId)}
      >
        {home.isPending ? "Going home…" : "Go home"}
      </button>
      <button
        type="button"
        data-testid="retry-task"
        disabled={!tracked || !trackedDone || busy || retrying}
        title={tracked ? `Run "${tracked.task}" again` : "No task to retry"}
        onClick={() => tracked && onRetry(tracked.task)}
      >
        Retry
      </button>
    </div>
  );
}
