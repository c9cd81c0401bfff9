// The frame of every page: header, sidebar, dialogs, toasts, shortcuts, telemetry.
import { useEffect } from "react";
import { Outlet, useLocation, useNavigate } from "react-router";
import { useEstop } from "../hooks/useEstop";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { useRecordingToggle } from "../hooks/useRecording";
import { useShortcuts } from "../hooks/useShortcuts";
import { useUiStore } from "../stores/ui";
import { ApiKeyDialog } from "./ApiKeyDialog";
import { Header } from "./Header";
import { RobotBanner } from "./RobotBanner";
import { HelpDialog } from "./HelpDialog";
import { Sidebar } from "./Sidebar";
import { TelemetryBridge } from "./TelemetryBridge";
import { Toaster } from "./Toaster";
import { toggleTeleop } from "../pages/teleopToggle";

export function Layout() {
  const sidebarOpen = useUiStore((s) => s.sidebarOpen);
  const theme = useUiStore((s) => s.theme);
  const robotId = useSelectedRobot();
  const navigate = useNavigate();
  const location = useLocation();
  const estop = useEstop();
  const recording = useRecordingToggle(robotId);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  useShortcuts({
    estop: () => {
      if (robotId) estop.mutate({ robotId, category: 1 });
      else useUiStore.getState().pushToast({ title: "E-STOP", description: "no robot selected", kind: "error" });
    },
    sidebar: () => useUiStore.getState().toggleSidebar(),
    theme: () => useUiStore.getState().toggleTheme(),
    help: () => useUiStore.getState().setHelpOpen(!useUiStore.getState().helpOpen),
    recording: recording.toggle,
    teleop: () => toggleTeleop(navigate, location.pathname),
  });

  return (
    <div className={`app ${sidebarOpen ? "with-sidebar" : "no-sidebar"}`}>
      <TelemetryBridge />
      <Header />
      {sidebarOpen ? <Sidebar /> : null}
      <main className="content">
        <RobotBanner />
        <Outlet />
      </main>
      <ApiKeyDialog />
      <HelpDialog />
      <Toaster />
    </div>
  );
}
