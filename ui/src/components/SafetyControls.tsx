// E-stop in category 0 / 1 / 2 and reset, for the selected robot.
import { useEstop, useSafetyReset } from "../hooks/useEstop";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { useRobotStore } from "../stores/robot";
import { NONE } from "./fmt";
import { Panel } from "./Panel";

export function SafetyControls() {
  const robotId = useSelectedRobot();
  const estop = useEstop();
  const reset = useSafetyReset();
  const mode = useRobotStore((s) => (robotId ? s.states[robotId]?.safety?.mode : undefined));
  const category = useRobotStore((s) => (robotId ? s.states[robotId]?.safety?.estop_category : undefined));
  return (
    <Panel title={`Stop and reset${robotId ? ` — ${robotId}` : ""}`} testId="safety-controls">
      <p>
        Safety mode: <strong data-testid="safety-mode">{mode ?? NONE}</strong>
        {category !== null && category !== undefined ? ` (e-stop category ${category})` : ""}
      </p>
      <div className="button-row">
        {[0, 1, 2].map((c) => (
          <button key={c} type="button" className="danger" disabled={!robotId || estop.isPending} onClick={() => robotId && estop.mutate({ robotId, category: c })}>
            E-stop category {c}
          </button>
        ))}
        <button type="button" disabled={!robotId || reset.isPending} onClick={() => robotId && reset.mutate(robotId)} data-testid="safety-reset">
          Reset
        </button>
      </div>
      <p className="muted">Category 0: cut power now. Category 1: brake, then cut power. Category 2: brake and hold with power on.</p>
    </Panel>
  );
}
