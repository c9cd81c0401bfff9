import { useUiStore } from "../stores/ui";
import { ConnectionBadge } from "./ConnectionBadge";
import { EstopButton } from "./EstopButton";
import { RecIndicator } from "./RecIndicator";
import { RobotSelector } from "./RobotSelector";

export function Header() {
  const toggleSidebar = useUiStore((s) => s.toggleSidebar);
  const toggleTheme = useUiStore((s) => s.toggleTheme);
  const setHelpOpen = useUiStore((s) => s.setHelpOpen);
  return (
    <header className="app-header">
      <button type="button" className="icon" onClick={toggleSidebar} title="Sidebar (Ctrl+S)" aria-label="Toggle sidebar">
        ☰
      </button>
      <h1>Dynamical Edge</h1>
      <ConnectionBadge />
      <div className="spacer" />
      <RecIndicator />
      <RobotSelector />
      <button type="button" className="icon" onClick={toggleTheme} title="Theme (Ctrl+D)" aria-label="Toggle theme">
        ◐
      </button>
      <button type="button" className="icon" onClick={() => setHelpOpen(true)} title="Shortcuts (Ctrl+?)" aria-label="Help">
        ?
      </button>
      <EstopButton />
    </header>
  );
}
