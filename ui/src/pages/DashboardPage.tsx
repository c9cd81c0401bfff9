import { lazy, Suspense } from "react";
import { EmptyState, Panel } from "../components/Panel";
import { RecentExecutions } from "../components/RecentExecutions";
import { RobotsTable } from "../components/RobotsTable";
import { TaskBox } from "../components/TaskBox";
import { TimingCharts } from "../components/TimingCharts";
import { useSelectedRobot } from "../hooks/useSelectedRobot";

// three.js is large: the 3D view is its own chunk
const RobotView = lazy(() => import("../three/RobotView"));

export default function DashboardPage() {
  const robotId = useSelectedRobot();
  return (
    <div className="page dashboard" data-testid="page-dashboard">
      <div className="column">
        <RobotsTable />
        <TaskBox />
        <TimingCharts />
      </div>
      <div className="column view-column">
        <Panel title={robotId ? `3D view — ${robotId}` : "3D view"} className="view-panel">
          {robotId ? (
            <Suspense fallback={<EmptyState>Loading the 3D view…</EmptyState>}>
              <RobotView robotId={robotId} />
            </Suspense>
          ) : (
            <EmptyState>No robot selected.</EmptyState>
          )}
        </Panel>
        <RecentExecutions />
      </div>
    </div>
  );
}
