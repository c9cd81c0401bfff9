// Safety events as they arrive over telemetry (this session only).
import { useRobotStore } from "../stores/robot";
import { num } from "./fmt";
import { EmptyState } from "./Panel";

export function LiveSafetyEvents({ robotId, limit = 30 }: { robotId: string | null; limit?: number }) {
  const all = useRobotStore((s) => s.liveEvents);
  const events = all.filter((e) => !robotId || e.robot_id === robotId).slice(0, limit);
  if (!events.length) return <EmptyState>No safety events since this page opened.</EmptyState>;
  return (
    <div className="scroll">
    <table className="table" data-testid="live-safety-events">
      <thead>
        <tr>
          <th>Received</th>
          <th>Robot</th>
          <th>Rule</th>
          <th>Joint</th>
          <th>Value</th>
          <th>Limit</th>
          <th>t (s)</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={`${e.robot_id}-${e.seq}-${e.tick}`}>
            <td>{new Date(e.receivedAt).toLocaleTimeString()}</td>
            <td>{e.robot_id}</td>
            <td>{e.rule_name}</td>
            <td>{e.joint_name ?? "—"}</td>
            <td>{num(e.value, 4)}</td>
            <td>{num(e.limit, 4)}</td>
            <td>{num(e.t, 3)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}
