// Recorded safety events (REST) of a robot or an execution.
import type { SafetyEventOut } from "../api/types";
import { clock, num, shortId, time } from "./fmt";
import { EmptyState } from "./Panel";

/** `jointNames`: the robot's joints in state order (from its model), to name `joint` indices. */
export function SafetyEventsTable({
  events,
  jointNames,
  empty = "No safety events.",
}: {
  events: SafetyEventOut[];
  jointNames?: string[];
  empty?: string;
}) {
  if (!events.length) return <EmptyState>{empty}</EmptyState>;
  return (
    <div className="scroll">
    <table className="table" data-testid="safety-events">
      <thead>
        <tr>
          <th>Recorded</th>
          <th>Robot</th>
          <th>Rule</th>
          <th>Joint</th>
          <th>Value</th>
          <th>Limit</th>
          <th>Tick</th>
          <th>Request</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.id}>
            <td title={time(e.recorded_at)}>{clock(e.recorded_at)}</td>
            <td>{e.robot_id}</td>
            <td>{e.rule_name}</td>
            <td>{e.joint < 0 ? "—" : (jointNames?.[e.joint] ?? `#${e.joint}`)}</td>
            <td>{num(e.value, 4)}</td>
            <td>{num(e.limit, 4)}</td>
            <td>{e.tick}</td>
            <td>{e.request_id ? shortId(e.request_id) : "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}
