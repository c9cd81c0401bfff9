import { renderHook } from "@testing-library/react";
import { describe, expect, it, vi, type Mock } from "vitest";
import type { ShortcutAction } from "./shortcuts";
import { useShortcuts } from "./useShortcuts";

function handlers() {
  const all = ["sidebar", "estop", "theme", "help", "recording", "teleop"] as const;
  return Object.fromEntries(all.map((a) => [a, vi.fn<() => void>()])) as Record<ShortcutAction, Mock<() => void>>;
}

function press(target: EventTarget, key: string): KeyboardEvent {
  const e = new KeyboardEvent("keydown", { key, ctrlKey: true, bubbles: true, cancelable: true });
  target.dispatchEvent(e);
  return e;
}

describe("useShortcuts", () => {
  it("Ctrl+R toggles recording even while typing, and the browser does not reload", () => {
    const h = handlers();
    renderHook(() => useShortcuts(h));
    const input = document.createElement("input");
    document.body.appendChild(input);
    const e = press(input, "r");
    expect(h.recording).toHaveBeenCalledTimes(1);
    expect(e.defaultPrevented).toBe(true);
    // other shortcuts stay with the text field
    const d = press(input, "d");
    expect(h.theme).not.toHaveBeenCalled();
    expect(d.defaultPrevented).toBe(false);
    press(document.body, "d");
    expect(h.theme).toHaveBeenCalledTimes(1);
    input.remove();
  });
});
