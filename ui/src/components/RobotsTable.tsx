// Every robot with its live status (from telemetry; "—" until a state arrived).
import { useRobots } from "../api/queries";
import type { RobotOut } from "../api/types";
import { isConnected } from "../hooks/useSelectedRobot";
import { useRobotStore } from "../stores/robot";
import { lastSeenText } from "../live/liveness";
import { useLiveness } from "../live/useLiveness";
import { NONE, num } from "./fmt";
import { Panel } from "./Panel";
import { QueryState } from "./QueryState";

function RobotRow({ robot }: { robot: RobotOut }) {
  const linked = useRobotStore((s) => s.linked);
  const mode = useRobotStore((s) => s.states[robot.id]?.safety?.mode);
  const busy = useRobotStore((s) => s.states[robot.id]?.busy);
  const fault = useRobotStore((s) => s.states[robot.id]?.fault);
  const hasState = useRobotStore((s) => robot.id in s.states);
  const separation = useRobotStore((s) => s.states[robot.id]?.safety?.separation_m);
  const connected = isConnected(robot, linked);
  const liveness = useLiveness(robot.id);
  // A value is shown as current only while it is: else greyed, with its age.
  const stale = hasState && !liveness.live;
  const cause = useRobotStore((s) => s.states[robot.id]?.safety?.stop_cause);
  const link = !connected ? "disconnected" : liveness.reason === "telemetry" ? "link unknown" : liveness.reason === "robot" ? "silent" : "no state yet";
  return (
    <tr
      data-testid={`robot-row-${robot.id}`}
      data-connected={String(connected && liveness.live)}
      data-live={String(liveness.live)}
      className={stale ? "stale" : undefined}
    >
      <td>
        <strong>{robot.name}</strong>
        <div className="muted">{robot.id}</div>
      </td>
      <td>{robot.kind}</td>
      <td>
        {liveness.live ? (
          <span className="status status-succeeded" data-testid="robot-connected">
            connected
          </span>
        ) : (
          <span className={`status ${link === "disconnected" ? "status-failed" : "status-stale"}`} data-testid="robot-connected">
            {link}
          </span>
        )}
        {!liveness.live && liveness.ageS !== null ? (
          <div className="muted" data-testid="robot-last-seen">
            {lastSeenText(liveness.ageS)}
          </div>
        ) : null}
      </td>
      <td>
        {mode ? <span className={`mode mode-${stale ? "stale" : mode}`}>{mode}</span> : NONE}
        {cause ? (
          <div className="muted cause" data-testid="stop-cause" title={cause.detail}>
            {cause.rule} at t = {cause.t.toFixed(3)} s{cause.activity ? ` while ${cause.activity}` : ""}
          </div>
        ) : null}
      </td>
      <td>{hasState ? (stale ? `${busy ? "busy" : "idle"} (${lastSeenText(liveness.ageS)})` : busy ? "busy" : "idle") : NONE}</td>
      <td>{hasState ? (fault ?? "none") : NONE}</td>
      <td>{num(separation, 2, "m")}</td>
    </tr>
  );
}

export function RobotsTable() {
  const robots = useRobots();
  return (
    <Panel title="Robots" testId="robots-panel">
      <QueryState query={robots} isEmpty={(r) => r.length === 0} empty="No robots registered.">
        {(rows) => (
          <table className="table">
            <thead>
              <tr>
                <th>Robot</th>
                <th>Kind</th>
                <th>Link</th>
                <th>Safety mode</th>
                <th>Activity</th>
                <th>Fault</th>
                <th>Nearest person</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <RobotRow key={r.id} robot={r} />
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
    </Panel>
  );
}
