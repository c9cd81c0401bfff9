import { useRobotModel, useSafetyEvents } from "../api/queries";
import { HazardsPanel } from "../components/HazardsPanel";
import { LiveSafetyEvents } from "../components/LiveSafetyEvents";
import { Panel } from "../components/Panel";
import { QueryState } from "../components/QueryState";
import { SafetyControls } from "../components/SafetyControls";
import { SafetyEventsTable } from "../components/SafetyEventsTable";
import { ZonesPanel } from "../components/ZonesPanel";
import { useSelectedRobot } from "../hooks/useSelectedRobot";

export default function SafetyPage() {
  const robotId = useSelectedRobot();
  const events = useSafetyEvents(robotId, 50);
  const model = useRobotModel(robotId);
  return (
    <div className="page safety" data-testid="page-safety">
      <SafetyControls />
      <HazardsPanel />
      <ZonesPanel />
      <Panel title="Live safety events" className="wide">
        <LiveSafetyEvents robotId={robotId} />
      </Panel>
      <Panel title="Recorded safety events (newest 50)" className="wide">
        <QueryState query={events}>{(rows) => <SafetyEventsTable events={rows} jointNames={model.data?.joint_names} />}</QueryState>
      </Panel>
    </div>
  );
}
