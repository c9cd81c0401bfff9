import { beforeEach, describe, expect, it } from "vitest";
import { THEME_STORAGE, useUiStore } from "./ui";

const initial = useUiStore.getState();

describe("ui store", () => {
  beforeEach(() => useUiStore.setState(initial, true));

  it("toggles the sidebar and the help dialog", () => {
    expect(useUiStore.getState().sidebarOpen).toBe(true);
    useUiStore.getState().toggleSidebar();
    expect(useUiStore.getState().sidebarOpen).toBe(false);
    useUiStore.getState().setHelpOpen(true);
    expect(useUiStore.getState().helpOpen).toBe(true);
  });

  it("toggles the theme and remembers it", () => {
    const before = useUiStore.getState().theme;
    useUiStore.getState().toggleTheme();
    const after = useUiStore.getState().theme;
    expect(after).not.toBe(before);
    expect(window.localStorage.getItem(THEME_STORAGE)).toBe(after);
  });

  it("does not stack identical toasts, and dismisses by id", () => {
    const { pushToast } = useUiStore.getState();
    const a = pushToast({ title: "E-stop", description: "ok", kind: "success" });
    const b = pushToast({ title: "E-stop", description: "ok", kind: "success" });
    const c = pushToast({ title: "E-stop", description: "failed", kind: "error" });
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(useUiStore.getState().toasts.length).toBe(2);
    useUiStore.getState().dismissToast(a);
    expect(useUiStore.getState().toasts.map((t) => t.id)).toEqual([c]);
  });

  it("a keyed toast is replaced by a newer one and dismissed when its thing recovers", () => {
    const { pushToast } = useUiStore.getState();
    const a = pushToast({ title: "Loading robots failed", description: "server unreachable", kind: "error", key: "query:robots" });
    const b = pushToast({ title: "Loading robots failed", description: "502 Bad Gateway", kind: "error", key: "query:robots" });
    expect(b).toBe(a);
    expect(useUiStore.getState().toasts.map((t) => t.description)).toEqual(["502 Bad Gateway"]);
    useUiStore.getState().dismissToastKey("query:robots");
    expect(useUiStore.getState().toasts).toEqual([]);
  });

  it("keeps the task box's draft", () => {
    useUiStore.getState().setTaskDraft("wave");
    expect(useUiStore.getState().taskDraft).toBe("wave");
  });
});
