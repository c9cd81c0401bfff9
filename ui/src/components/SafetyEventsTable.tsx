// Recorded safety events (REST) of a robot or an execution.
import type { SafetyEventOut } from "../api/types";
import { eventSubject, eventValue, ruleWords } from "../live/safetyText";
import { clock, shortId, time } from "./fmt";
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
          <th>Where</th>
          <th>Value (limit)</th>
          <th>t</th>
          <th>Request</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.id}>
            <td title={time(e.recorded_at)}>{clock(e.recorded_at)}</td>
            <td>{e.robot_id}</td>
            <td title={ruleWords(e.rule_name)}>{e.rule_name}</td>
            <td>{eventSubject(e, jointNames)}</td>
            <td>{eventValue(e)}</td>
            <td title={`tick ${e.tick}`}>{e.t.toFixed(3)} s</td>
            <td>{e.request_id ? shortId(e.request_id) : "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}
