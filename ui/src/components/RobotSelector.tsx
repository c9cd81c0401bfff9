// Picks the robot every page works with (default: the first connected one).
import { useRobots } from "../api/queries";
import { isConnected, useSelectedRobot } from "../hooks/useSelectedRobot";
import { useRobotStore } from "../stores/robot";

export function RobotSelector() {
  const { data: robots } = useRobots();
  const linked = useRobotStore((s) => s.linked);
  const select = useRobotStore((s) => s.selectRobot);
  const selected = useSelectedRobot();
  if (!robots?.length) return <span className="muted">no robots</span>;
  return (
    <label className="robot-selector">
      <span className="sr-only">Robot</span>
      <select data-testid="robot-selector" value={selected ?? ""} onChange={(e) => select(e.target.value || null)}>
        {robots.map((r) => (
          <option key={r.id} value={r.id}>
            {r.name} {isConnected(r, linked) ? "●" : "○ (offline)"}
          </option>
        ))}
      </select>
    </label>
  );
}
