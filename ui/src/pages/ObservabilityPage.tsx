import { useSearchParams } from "react-router";
import { useExecution, useExecutions, useInvokerStats, useRobotModel, useSafetyEvents, useTrace } from "../api/queries";
import { ms, text, time } from "../components/fmt";
import { EmptyState, Panel } from "../components/Panel";
import { QueryState } from "../components/QueryState";
import { SafetyEventsTable } from "../components/SafetyEventsTable";
import { Waterfall } from "../components/Waterfall";
import { useSelectedRobot } from "../hooks/useSelectedRobot";

function StatsPanel() {
  const stats = useInvokerStats();
  return (
    <Panel title="Invoker">
      <QueryState query={stats}>
        {(s) => (
          <dl className="stats">
            <dt>In flight</dt>
            <dd>{s.in_flight}</dd>
            <dt>By status</dt>
            <dd>{Object.entries(s.executions_by_status).map(([k, v]) => `${k}: ${v}`).join(", ") || "—"}</dd>
            <dt>Planning time</dt>
            <dd>{Object.entries(s.planning_time_ms).map(([k, v]) => `${k} ${ms(v)}`).join(", ") || "—"}</dd>
            <dt>Total time</dt>
            <dd>{Object.entries(s.total_time_ms).map(([k, v]) => `${k} ${ms(v)}`).join(", ") || "—"}</dd>
          </dl>
        )}
      </QueryState>
    </Panel>
  );
}

function ExecutionDetail({ requestId, focusSpanId }: { requestId: string; focusSpanId: string | null }) {
  const execution = useExecution(requestId);
  const trace = useTrace(requestId);
  const events = useSafetyEvents(null, 1000, requestId);
  const model = useRobotModel(execution.data?.robot_id ?? null);
  return (
    <>
      <Panel title={`Execution ${requestId}`} testId="execution-detail">
        <QueryState query={execution}>
          {(e) => (
            <dl className="stats">
              <dt>Task</dt>
              <dd>{text(e.task_description)}</dd>
              <dt>Status</dt>
              <dd>
                <span className={`status status-${e.status}`}>{e.status}</span> {e.error ? `— ${e.error}` : ""}
              </dd>
              <dt>Steps</dt>
              <dd>
                {e.steps_done}/{e.steps_total ?? "—"}
              </dd>
              <dt>Planning / total</dt>
              <dd>
                {ms(e.planning_time_ms)} / {ms(e.total_time_ms)}
              </dd>
            </dl>
          )}
        </QueryState>
      </Panel>
      <Panel title="Trace" className="wide">
        <QueryState query={trace} notFound="No trace recorded for this request (yet).">
          {(t) => <Waterfall trace={t} focusSpanId={focusSpanId} />}
        </QueryState>
      </Panel>
      <Panel title="Safety events of this execution" className="wide">
        <QueryState query={events}>{(rows) => (
            <SafetyEventsTable events={rows} jointNames={model.data?.joint_names} empty="No safety events during this execution." />
          )}</QueryState>
      </Panel>
    </>
  );
}

export default function ObservabilityPage() {
  const robotId = useSelectedRobot();
  const executions = useExecutions(robotId);
  const [params, setParams] = useSearchParams();
  const selected = params.get("request");
  const pick = (id: string) => setParams({ request: id });

  return (
    <div className="page observability" data-testid="page-observability">
      <Panel title="Executions" testId="executions-panel" className="wide">
        <QueryState query={executions} isEmpty={(r) => r.length === 0} empty="No executions yet.">
          {(rows) => (
            <div className="scroll">
            <table className="table" data-testid="executions-table">
              <thead>
                <tr>
                  <th>Created</th>
                  <th>Task</th>
                  <th>Robot</th>
                  <th>Status</th>
                  <th>Steps</th>
                  <th>Planning</th>
                  <th>Total</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => (
                  <tr key={e.request_id} className={e.request_id === selected ? "selected clickable" : "clickable"} onClick={() => pick(e.request_id)}>
                    <td>{time(e.created_at)}</td>
                    <td>
                      <button type="button" className="link" onClick={() => pick(e.request_id)}>
                        {text(e.task_description)}
                      </button>
                    </td>
                    <td>{text(e.robot_id)}</td>
                    <td>
                      <span className={`status status-${e.status}`}>{e.status}</span>
                    </td>
                    <td>
                      {e.steps_done}/{e.steps_total ?? "—"}
                    </td>
                    <td>{ms(e.planning_time_ms)}</td>
                    <td>{ms(e.total_time_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            </div>
          )}
        </QueryState>
      </Panel>
      {selected ? <ExecutionDetail key={selected} requestId={selected} focusSpanId={params.get("span")} /> : <Panel title="Execution"><EmptyState>Select an execution to see its trace.</EmptyState></Panel>}
      <StatsPanel />
    </div>
  );
}
