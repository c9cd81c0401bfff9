// /training: the LeRobot datasets on the server's machine (recorded with `dynamical record`, or by
// a robot: Ctrl+R, `"record": true`), newest first; a click opens one.
import { useDatasets } from "../api/learning";
import type { DatasetSummary } from "../api/learningTypes";
import { bytes, duration, time } from "../components/fmt";
import { Panel } from "../components/Panel";
import { QueryState } from "../components/QueryState";

function newestFirst(rows: DatasetSummary[]): DatasetSummary[] {
  return [...rows].sort((a, b) => b.modified_at.localeCompare(a.modified_at));
}

export function DatasetsPanel({ selected, onSelect }: { selected: string | null; onSelect: (name: string) => void }) {
  const datasets = useDatasets();
  return (
    <Panel title="Datasets" className="wide" testId="datasets-panel">
      <QueryState
        query={datasets}
        isEmpty={(d) => d.length === 0}
        empty={
          <>
            No datasets yet. Record one: Ctrl+R on a robot, <code>"record": true</code> on an invoke, or{" "}
            <code>dynamical record --skill pick --episodes 50</code>.
          </>
        }
      >
        {(rows) => (
          <div className="scroll">
            <table className="table" data-testid="datasets-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Skill / task</th>
                  <th>Episodes</th>
                  <th>Successful</th>
                  <th>Frames</th>
                  <th>Duration</th>
                  <th>Cameras</th>
                  <th>Size</th>
                  <th>Written</th>
                </tr>
              </thead>
              <tbody>
                {newestFirst(rows).map((d) => (
                  <tr
                    key={d.name}
                    className={`clickable${d.name === selected ? " selected" : ""}`}
                    data-testid="dataset-row"
                    data-name={d.name}
                    onClick={() => onSelect(d.name)}
                  >
                    <td>
                      <button type="button" className="link" onClick={() => onSelect(d.name)}>
                        {d.name}
                      </button>
                    </td>
                    <td className="cause">{d.skill ?? d.tasks[0] ?? "—"}</td>
                    <td data-testid="dataset-episodes">{d.episodes}</td>
                    <td>{d.successes === null ? "—" : `${d.successes} / ${d.episodes}`}</td>
                    <td data-testid="dataset-frames">{d.frames}</td>
                    <td>{duration(d.duration_s)}</td>
                    <td>{d.cameras.join(", ") || "—"}</td>
                    <td>{bytes(d.size_bytes)}</td>
                    <td>{time(d.modified_at)}</td>
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
