import { useHazards } from "../api/queries";
import { Panel } from "./Panel";
import { QueryState } from "./QueryState";

export function HazardsPanel() {
  const hazards = useHazards();
  return (
    <Panel title="Hazards now" testId="hazards-panel">
      <QueryState query={hazards} isEmpty={(h) => h.length === 0} empty="No connected robots.">
        {(rows) => (
          <ul className="hazards">
            {rows.map((r) => (
              <li key={r.robot_id}>
                <strong>{r.robot_id}</strong>
                {r.hazards.length === 0 ? (
                  <span className="muted"> — no hazards</span>
                ) : (
                  <ul>
                    {r.hazards.map((h, i) => (
                      <li key={`${h.kind}-${i}`}>
                        <span className="tag">{h.kind}</span> {h.detail}
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        )}
      </QueryState>
    </Panel>
  );
}
