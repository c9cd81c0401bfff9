// Keyboard shortcuts: which key combination does what (pure, testable).
export type ShortcutAction = "sidebar" | "estop" | "theme" | "help" | "recording" | "teleop";

export interface ShortcutInfo {
  keys: string;
  action: ShortcutAction;
  label: string;
  coming?: boolean;
}

export const SHORTCUTS: ShortcutInfo[] = [
  { keys: "Ctrl+E", action: "estop", label: "Emergency stop of the selected robot (category 1); works even while typing" },
  { keys: "Ctrl+S", action: "sidebar", label: "Show / hide the sidebar" },
  { keys: "Ctrl+D", action: "theme", label: "Light / dark theme" },
  { keys: "Ctrl+?", action: "help", label: "This help (Ctrl+Shift+/)" },
  { keys: "Ctrl+R", action: "recording", label: "Start / stop recording a demonstration on the selected robot (REC in the header); works while typing" },
  { keys: "Ctrl+T", action: "teleop", label: "Teleoperation: opens the teleop page; there, starts / stops the selected robot's session" },
];

export interface KeyLike {
  key: string;
  code?: string;
  ctrlKey: boolean;
  metaKey?: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

export function shortcutFor(e: KeyLike): ShortcutAction | null {
  if (!e.ctrlKey || e.altKey) return null;
  const key = e.key.toLowerCase();
  if (key === "?" || (e.shiftKey && (key === "/" || e.code === "Slash"))) return "help";
  if (e.shiftKey) return null;
  switch (key) {
    case "e":
      return "estop";
    case "s":
      return "sidebar";
    case "d":
      return "theme";
    case "r":
      return "recording";
    case "t":
      return "teleop";
    default:
      return null;
  }
}

/** Shortcuts that act even in a text field: stopping the robot, and Ctrl+R, which the browser
 * would otherwise take as "reload" and throw the page (and the recording's context) away. */
export function actsWhileTyping(action: ShortcutAction): boolean {
  return action === "estop" || action === "recording";
}

/** Typing in a text field swallows shortcuts, except those that act while typing. */
export function isTextEntry(target: EventTarget | null): boolean {
  if (!target || !(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"].includes(target.type);
  }
  return false;
}
