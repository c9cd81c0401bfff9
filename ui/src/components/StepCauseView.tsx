// A failed step explained where it happened: the cause in words, the safety events of its time
// window (with units), the skill's own report, and a link into the trace at the failed phase.
import { Link } from "react-router";
import type { SafetyEventOut } from "../api/types";
import { eventSentence } from "../live/safetyText";
import type { StepCause } from "../live/stepCause";

export function StepCauseView({ cause, requestId, jointNames }: { cause: StepCause; requestId: string; jointNames?: string[] }) {
  const trace = `/observability?request=${encodeURIComponent(requestId)}${cause.phaseSpanId ? `&span=${encodeURIComponent(cause.phaseSpanId)}` : ""}`;
  return (
    <div className="step-cause" data-testid="step-cause" data-source={cause.source}>
      <div className="cause-headline" data-testid="step-cause-headline">
        {cause.headline}
      </div>
      {cause.skillReport ? <div className="muted">then the skill reported: {cause.skillReport}</div> : null}
      {cause.remedy ? <div data-testid="step-cause-remedy">What to do: {cause.remedy}</div> : null}
      {cause.events.length ? (
        <ul data-testid="step-cause-events">
          {dedupe(cause.events).map(({ event, count }) => (
            <li key={event.id}>
              t = {event.t.toFixed(3)} s — {eventSentence(event, jointNames)}
              {count > 1 ? ` (×${count})` : ""}
            </li>
          ))}
        </ul>
      ) : (
        <div className="muted">No safety events in this step's time window.</div>
      )}
      <Link to={trace} data-testid="step-cause-trace">
        {cause.phaseName ? `Open the failed phase (${cause.phaseName}) in the trace` : "Open this step in the trace"}
      </Link>
      {cause.detail && cause.detail !== cause.headline ? (
        <details>
          <summary>Details</summary>
          <code>{cause.detail}</code>
        </details>
      ) : null}
    </div>
  );
}

/** The same rule repeating (a watchdog hold on many ticks) shows once, with a count. */
function dedupe(events: SafetyEventOut[]): { event: SafetyEventOut; count: number }[] {
  const out: { event: SafetyEventOut; count: number }[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (last && last.event.rule_name === e.rule_name && last.event.joint === e.joint) last.count += 1;
    else out.push({ event: e, count: 1 });
  }
  return out.slice(0, 12);
}
