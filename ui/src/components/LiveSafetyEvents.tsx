// Safety events as they arrive over telemetry (this session only).
import { useRobotStore } from "../stores/robot";
import { eventSubject, eventValue, ruleWords } from "../live/safetyText";
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
          <th>Where</th>
          <th>Value (limit)</th>
          <th>t</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={`${e.robot_id}-${e.seq}-${e.tick}`}>
            <td>{new Date(e.receivedAt).toLocaleTimeString()}</td>
            <td>{e.robot_id}</td>
            <td title={ruleWords(e.rule_name)}>{e.rule_name}</td>
            <td>{eventSubject(e)}</td>
            <td>{eventValue(e)}</td>
            <td>{num(e.t, 3, "s")}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}
