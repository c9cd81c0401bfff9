// Newest executions of the selected robot, each linking to its trace.
import { Link } from "react-router";
import { useExecutions } from "../api/queries";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { ms, text, time } from "./fmt";
import { Panel } from "./Panel";
import { QueryState } from "./QueryState";

export function RecentExecutions({ limit = 10 }: { limit?: number }) {
  const robotId = useSelectedRobot();
  const executions = useExecutions(robotId);
  return (
    <Panel title="Recent executions" testId="recent-executions">
      <QueryState
        query={executions}
        isEmpty={(rows) => rows.length === 0}
        empty="No executions yet."
      >
        {(rows) => (
          <table className="table">
            <thead>
              <tr>
                <th>Started</th>
                <th>Task</th>
                <th>Status</th>
                <th>Steps run</th>
                <th>Total</th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, limit).map((e) => (
                <tr key={e.request_id}>
                  <td>{time(e.created_at)}</td>
                  <td>
                    <Link to={`/observability?request=${encodeURIComponent(e.request_id)}`}>{text(e.task_description)}</Link>
                  </td>
                  <td>
                    <span className={`status status-${e.status}`}>{e.status}</span>
                  </td>
                  <td>
                    {e.steps_done}/{e.steps_total ?? "—"}
                  </td>
                  <td>{ms(e.total_time_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
    </Panel>
  );
}
