// Layout and presentation: sidebar, theme, help dialog, toasts.
import { create } from "zustand";
import type { PlanStep } from "../api/types";

export type Theme = "light" | "dark";
export type ToastKind = "info" | "success" | "error";

export interface Toast {
  id: number;
  title: string;
  description?: string;
  kind: ToastKind;
  /** Toasts about one thing (e.g. one query's load) share a key: a newer one replaces the older,
   * and the thing going well again dismisses it. */
  key?: string;
}

/** The task the operator started from the dashboard and is following. */
export interface TrackedTask {
  requestId: string;
  robotId: string;
  task: string;
  /** Status when it was accepted. */
  status: string;
  steps: PlanStep[];
  /** Why the planner refused it (status "refused": nothing was sent to the robot). */
  refusal?: string;
}

export const THEME_STORAGE = "dynamical.theme";

function initialTheme(): Theme {
  try {
    const saved = window.localStorage.getItem(THEME_STORAGE);
    if (saved === "light" || saved === "dark") return saved;
  } catch {
    /* no storage */
  }
  return "dark";
}

export interface UiState {
  sidebarOpen: boolean;
  theme: Theme;
  helpOpen: boolean;
  toasts: Toast[];
  trackedTask: TrackedTask | null;
  /** The task box's text: kept when the operator navigates away and back. */
  taskDraft: string;

  toggleSidebar: () => void;
  toggleTheme: () => void;
  setHelpOpen: (open: boolean) => void;
  /** Adds a toast unless the same one is already showing; returns its id. */
  pushToast: (toast: Omit<Toast, "id">) => number;
  dismissToast: (id: number) => void;
  dismissToastKey: (key: string) => void;
  setTaskDraft: (text: string) => void;
  trackTask: (task: TrackedTask | null) => void;
}

let nextToastId = 1;
const MAX_TOASTS = 5;

export const useUiStore = create<UiState>((set, get) => ({
  sidebarOpen: true,
  theme: typeof window !== "undefined" ? initialTheme() : "dark",
  helpOpen: false,
  toasts: [],
  trackedTask: null,
  taskDraft: "",

  toggleSidebar: () => set((s) => ({ sidebarOpen: !s.sidebarOpen })),
  toggleTheme: () =>
    set((s) => {
      const theme: Theme = s.theme === "dark" ? "light" : "dark";
      try {
        window.localStorage.setItem(THEME_STORAGE, theme);
      } catch {
        /* no storage */
      }
      return { theme };
    }),
  setHelpOpen: (helpOpen) => set({ helpOpen }),
  pushToast: (toast) => {
    if (toast.key !== undefined) {
      const keyed = get().toasts.find((t) => t.key === toast.key);
      if (keyed) {
        set((s) => ({ toasts: s.toasts.map((t) => (t.id === keyed.id ? { ...toast, id: keyed.id } : t)) }));
        return keyed.id;
      }
    }
    const same = get().toasts.find(
      (t) => t.title === toast.title && t.description === toast.description && t.kind === toast.kind,
    );
    if (same) return same.id;
    const id = nextToastId++;
    set((s) => ({ toasts: [...s.toasts, { ...toast, id }].slice(-MAX_TOASTS) }));
    return id;
  },
  dismissToast: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  dismissToastKey: (key) =>
    set((s) => (s.toasts.some((t) => t.key === key) ? { toasts: s.toasts.filter((t) => t.key !== key) } : s)),
  setTaskDraft: (taskDraft) => set({ taskDraft }),
  trackTask: (trackedTask) => set({ trackedTask }),
}));
