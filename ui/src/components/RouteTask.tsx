// "Route a task": the plan a task would become, each step's top-k skills with their weights.
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { api } from "../api/endpoints";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { ms } from "./fmt";
import { Panel } from "./Panel";
import { WeightBars } from "./WeightBars";

export function RouteTask() {
  const robotId = useSelectedRobot();
  const [task, setTask] = useState("");
  const route = useMutation({
    meta: { title: "Routing failed" },
    mutationFn: (t: string) => api.routeTask(t, robotId),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (task.trim()) route.mutate(task.trim());
  };
  const plan = route.data?.plan;
  return (
    <Panel title="Route a task" testId="route-task">
      <form className="task-form" onSubmit={submit}>
        <input
          type="text"
          value={task}
          onChange={(e) => setTask(e.target.value)}
          placeholder="e.g. pick up the red cube and place it on the shelf"
          aria-label="Task to route"
          data-testid="route-input"
        />
        <button type="submit" className="primary" disabled={!task.trim() || route.isPending}>
          {route.isPending ? "Routing…" : "Route"}
        </button>
      </form>
      {plan ? (
        <div data-testid="route-result">
          <p className="muted">
            {plan.steps.length} steps, planned in {ms(route.data?.planning_time_ms)}
            {route.data?.robot_id ? ` for ${route.data.robot_id}` : " (nominal world)"}
          </p>
          <ol className="route-steps">
            {plan.steps.map((s) => (
              <li key={s.step_id}>
                <div>
                  <strong>{s.text}</strong> → <code>{s.skill_id}</code> <span className="muted">confidence {s.confidence.toFixed(3)}, tier {s.tier}</span>
                </div>
                <WeightBars skills={s.skill_ids} weights={s.weights} chosen={s.skill_id} />
              </li>
            ))}
          </ol>
        </div>
      ) : null}
    </Panel>
  );
}
