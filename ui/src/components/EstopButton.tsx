// The big red emergency stop for the selected robot (category 1).
import { useEstop } from "../hooks/useEstop";
import { useSelectedRobot } from "../hooks/useSelectedRobot";

export function EstopButton() {
  const robotId = useSelectedRobot();
  const estop = useEstop();
  return (
    <button
      type="button"
      className="estop"
      data-testid="estop-button"
      disabled={!robotId}
      title={robotId ? `Emergency stop ${robotId} (Ctrl+E)` : "no robot"}
      onClick={() => robotId && estop.mutate({ robotId, category: 1 })}
    >
      E-STOP
    </button>
  );
}
