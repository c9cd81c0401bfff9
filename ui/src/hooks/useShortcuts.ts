// Installs the global keyboard shortcuts (every page).
import { useEffect, useRef } from "react";
import { actsWhileTyping, isTextEntry, shortcutFor, type ShortcutAction } from "./shortcuts";

export function useShortcuts(handlers: Record<ShortcutAction, () => void>): void {
  const latest = useRef(handlers);
  latest.current = handlers;

  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent) => {
      const action = shortcutFor(e);
      if (!action) return;
      if (!actsWhileTyping(action) && isTextEntry(e.target)) return;
      e.preventDefault();
      e.stopPropagation();
      latest.current[action]();
    };
    window.addEventListener("keydown", onKeyDown, { capture: true });
    return () => window.removeEventListener("keydown", onKeyDown, { capture: true });
  }, []);
}
