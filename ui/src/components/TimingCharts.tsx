// Rate, late fraction, jitter p99 and work p99 of the safety (1 kHz) and control (200 Hz) tiers
// over time, from the rolling window the robot store keeps.
import type { TimingSnapshot } from "../api/types";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { useRobotStore, type TimingSample } from "../stores/robot";
import { num, pct, us } from "./fmt";
import { EmptyState, Panel } from "./Panel";
import { Sparkline } from "./Sparkline";

const TIERS = [
  { key: "safety", title: "Safety tier (1 kHz)" },
  { key: "control", title: "Control tier (200 Hz)" },
] as const;

const METRICS: { label: string; pick: (t: TimingSnapshot) => number; show: (v: number | undefined) => string }[] = [
  { label: "rate", pick: (t) => t.rate_hz, show: (v) => num(v, 1, "Hz") },
  { label: "late fraction", pick: (t) => t.late_fraction, show: (v) => pct(v, 2) },
  { label: "jitter p99", pick: (t) => t.jitter_us.p99, show: us },
  { label: "work p99", pick: (t) => t.work_us.p99, show: us },
];

/** The chart's scale: it spans the window's minimum to maximum. */
function Range({ values, show }: { values: number[]; show: (v: number | undefined) => string }) {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2) return null;
  return (
    <div className="metric-range">
      min {show(Math.min(...finite))} · max {show(Math.max(...finite))} · {finite.length} samples
    </div>
  );
}

function TierCharts({ title, samples, tier }: { title: string; samples: TimingSample[]; tier: "safety" | "control" }) {
  const snapshots = samples.map((s) => s[tier]);
  const latest = snapshots[snapshots.length - 1];
  if (!snapshots.some(Boolean)) return <EmptyState>{title}: no timing reported.</EmptyState>;
  return (
    <div className="tier" data-testid={`timing-${tier}`}>
      <h3>{title}</h3>
      <div className="metrics">
        {METRICS.map((m) => (
          <div className="metric" key={m.label}>
            <div className="metric-head">
              <span>{m.label}</span>
              <strong>{m.show(latest ? m.pick(latest) : undefined)}</strong>
            </div>
            <Sparkline label={`${tier} ${m.label}`} values={snapshots.map((s) => (s ? m.pick(s) : Number.NaN))} />
            <Range values={snapshots.map((s) => (s ? m.pick(s) : Number.NaN))} show={m.show} />
          </div>
        ))}
      </div>
    </div>
  );
}

export function TimingCharts() {
  const robotId = useSelectedRobot();
  const samples = useRobotStore((s) => (robotId ? s.timing[robotId] : undefined));
  const stateKnown = useRobotStore((s) => (robotId ? robotId in s.states : false));
  const lockstep = useRobotStore((s) => {
    const timing = robotId ? s.states[robotId]?.timing : undefined;
    return timing !== undefined && !timing.safety && !timing.control;
  });

  let body;
  if (!robotId) body = <EmptyState>No robot selected.</EmptyState>;
  else if (!stateKnown) body = <EmptyState>Waiting for the robot's state…</EmptyState>;
  else if (lockstep && !samples?.length)
    body = <EmptyState>No wall-clock timing in lock-step: this robot runs its tiers in simulated time.</EmptyState>;
  else
    body = TIERS.map((t) => <TierCharts key={t.key} tier={t.key} title={t.title} samples={samples ?? []} />);

  return (
    <Panel title="Tier timing" testId="timing-panel">
      {body}
    </Panel>
  );
}
