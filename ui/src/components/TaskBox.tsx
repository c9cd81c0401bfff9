// Type a task, run it on the selected robot, follow it live.
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/endpoints";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { useUiStore } from "../stores/ui";
import { Panel } from "./Panel";
import { TaskProgress } from "./TaskProgress";

export function TaskBox() {
  const robotId = useSelectedRobot();
  const [task, setTask] = useState("");
  const tracked = useUiStore((s) => s.trackedTask);
  const track = useUiStore((s) => s.trackTask);
  const qc = useQueryClient();

  const invoke = useMutation({
    meta: { title: "Task not started" },
    mutationFn: (description: string) => api.invokeSkill(description, robotId),
    onSuccess: (accepted, description) => {
      track({ requestId: accepted.request_id, robotId: accepted.robot_id, task: description, status: accepted.status, steps: accepted.plan.steps });
      void qc.invalidateQueries({ queryKey: ["executions"] });
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
      {tracked ? <TaskProgress task={tracked} /> : <p className="muted">No task started from this dashboard yet.</p>}
    </Panel>
  );
}
