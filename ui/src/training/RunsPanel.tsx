// /training: training runs, newest first, with live progress (polled while one trains).
import { useTrainingRuns } from "../api/learning";
import type { TrainingRunSummary } from "../api/learningTypes";
import { duration, num, time } from "../components/fmt";
import { Panel } from "../components/Panel";
import { QueryState } from "../components/QueryState";
import { runEtaS, runProgress } from "./runView";

export function RunProgress({ run }: { run: TrainingRunSummary }) {
  const done = runProgress(run);
  const eta = runEtaS(run);
  return (
    <span className="run-progress" data-testid="run-progress" data-step={run.step}>
      <span className="progress" role="progressbar" aria-valuenow={Math.round(done * 100)} aria-valuemin={0} aria-valuemax={100}>
        <span style={{ width: `${(done * 100).toFixed(1)}%` }} />
      </span>{" "}
      {run.step} / {run.total_steps}
      {eta !== null ? <span className="muted"> · {duration(eta)} left</span> : null}
    </span>
  );
}

export function RunsPanel({ selected, onSelect }: { selected: string | null; onSelect: (id: string) => void }) {
  const runs = useTrainingRuns();
  return (
    <Panel title="Training runs" testId="runs-panel">
      <QueryState query={runs} isEmpty={(r) => r.length === 0} empty={
          <>
            No training runs yet: start one with the form on this page, or <code>dynamical train</code>.
          </>
        }
      >
        {(rows) => (
          <div className="scroll">
            <table className="table" data-testid="runs-table">
              <thead>
                <tr>
                  <th>Run</th>
                  <th>Status</th>
                  <th>Policy</th>
                  <th>Dataset</th>
                  <th>Progress</th>
                  <th>Loss</th>
                  <th>Started</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr
                    key={r.id}
                    className={`clickable${r.id === selected ? " selected" : ""}`}
                    data-testid="run-row"
                    data-run={r.id}
                    data-status={r.status}
                    onClick={() => onSelect(r.id)}
                  >
                    <td>
                      <button type="button" className="link" onClick={() => onSelect(r.id)}>
                        {r.id}
                      </button>
                    </td>
                    <td className={`status status-${r.status}`} title={r.error ?? undefined}>
                      {r.status}
                    </td>
                    <td>{r.policy}</td>
                    <td className="cause">{r.dataset.split("/").pop()}</td>
                    <td>
                      <RunProgress run={r} />
                    </td>
                    <td>{num(r.loss, 4)}</td>
                    <td>{time(r.started_at ?? r.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
    </Panel>
  );
}
