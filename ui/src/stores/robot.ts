// Live robot data from the telemetry socket: latest state, timing history, progress of
// executions, safety events, and which robot the operator has selected.
import { create } from "zustand";
import { isTerminal } from "../api/status";
import type { RobotState, TimingSnapshot } from "../api/types";
import type {
  ExecutionMessage,
  PlannedHands,
  ProgressMessage,
  SafetyEventMessage,
} from "../api/telemetry";

export interface TimingSample {
  /** server_time of the state message, seconds. */
  at: number;
  safety?: TimingSnapshot;
  control?: TimingSnapshot;
}

export interface StepLive {
  step_id: string;
  index: number;
  total: number;
  skill_id: string;
  status: string;
}

export interface PlannedHandsLive {
  requestId: string;
  stepId: string;
  hands: PlannedHands;
}

export interface LiveSafetyEvent extends SafetyEventMessage {
  receivedAt: number;
}

export interface ExecutionLive {
  request_id: string;
  robot_id: string;
  status: string;
  task_description?: string | null;
}

/** Timing samples kept per robot (one every TIMING_SAMPLE_S: 120 s of history). */
export const TIMING_WINDOW = 240;
export const TIMING_SAMPLE_S = 0.5;
export const MAX_LIVE_EVENTS = 200;

export interface RobotStoreState {
  states: Record<string, RobotState>;
  /** Browser clock (ms) when each robot's last state arrived: every live value knows its age. */
  receivedAt: Record<string, number>;
  /** Live connected flags from robot_connected / robot_disconnected messages. */
  linked: Record<string, boolean>;
  timing: Record<string, TimingSample[]>;
  progress: Record<string, Record<string, StepLive>>;
  plannedHands: Record<string, PlannedHandsLive | null>;
  executions: Record<string, ExecutionLive>;
  liveEvents: LiveSafetyEvent[];
  selectedRobotId: string | null;

  applyState: (robotId: string, state: RobotState, serverTime: number, receivedAt?: number) => void;
  setLinked: (robotId: string, connected: boolean) => void;
  applyProgress: (msg: ProgressMessage) => void;
  applyExecution: (msg: ExecutionMessage) => void;
  addSafetyEvent: (msg: SafetyEventMessage, receivedAt: number) => void;
  selectRobot: (robotId: string | null) => void;
  /** After a telemetry outage: forget what may have ended while away (running steps, planned
   * paths, live execution statuses) so the REST data fetched next decides. */
  reconcile: () => void;
}

const STATUS_RANK: Record<string, number> = { pending: 0, running: 1, succeeded: 2, failed: 2, interrupted: 2, cancelled: 2 };

/** The later of two step statuses (a step never goes from succeeded back to running). */
export function laterStatus(a: string | undefined, b: string): string {
  if (a === undefined) return b;
  return (STATUS_RANK[b] ?? 1) >= (STATUS_RANK[a] ?? 1) ? b : a;
}

function hasTiming(state: RobotState): boolean {
  return Boolean(state.timing && (state.timing.safety || state.timing.control));
}

export const useRobotStore = create<RobotStoreState>((set) => ({
  states: {},
  receivedAt: {},
  linked: {},
  timing: {},
  progress: {},
  plannedHands: {},
  executions: {},
  liveEvents: [],
  selectedRobotId: null,

  applyState: (robotId, state, serverTime, receivedAt = Date.now()) =>
    set((s) => {
      const next: Partial<RobotStoreState> = {
        states: { ...s.states, [robotId]: state },
        receivedAt: { ...s.receivedAt, [robotId]: receivedAt },
      };
      if (!s.linked[robotId]) next.linked = { ...s.linked, [robotId]: true };
      if (hasTiming(state)) {
        const samples = s.timing[robotId] ?? [];
        const last = samples[samples.length - 1];
        if (!last || serverTime - last.at >= TIMING_SAMPLE_S || serverTime < last.at) {
          const sample: TimingSample = { at: serverTime, safety: state.timing.safety, control: state.timing.control };
          next.timing = { ...s.timing, [robotId]: [...samples, sample].slice(-TIMING_WINDOW) };
        }
      }
      return next;
    }),

  setLinked: (robotId, connected) => set((s) => ({ linked: { ...s.linked, [robotId]: connected } })),

  applyProgress: (msg) =>
    set((s) => {
      const steps = s.progress[msg.request_id] ?? {};
      const prev = steps[msg.step_id];
      const step: StepLive = {
        step_id: msg.step_id,
        index: msg.index,
        total: msg.total,
        skill_id: msg.skill_id,
        status: laterStatus(prev?.status, msg.status),
      };
      const next: Partial<RobotStoreState> = {
        progress: { ...s.progress, [msg.request_id]: { ...steps, [msg.step_id]: step } },
      };
      // the planned path belongs to the running step; a finished step's plan is no longer drawn
      if (step.status === "running" && msg.planned_hands) {
        next.plannedHands = {
          ...s.plannedHands,
          [msg.robot_id]: { requestId: msg.request_id, stepId: msg.step_id, hands: msg.planned_hands },
        };
      } else if (step.status !== "running" && s.plannedHands[msg.robot_id]?.stepId === msg.step_id) {
        next.plannedHands = { ...s.plannedHands, [msg.robot_id]: null };
      }
      return next;
    }),

  applyExecution: (msg) =>
    set((s) => ({
      executions: {
        ...s.executions,
        [msg.request_id]: {
          request_id: msg.request_id,
          robot_id: msg.robot_id,
          status: msg.status,
          task_description: msg.task_description,
        },
      },
    })),

  addSafetyEvent: (msg, receivedAt) =>
    set((s) => ({ liveEvents: [{ ...msg, receivedAt }, ...s.liveEvents].slice(0, MAX_LIVE_EVENTS) })),

  selectRobot: (selectedRobotId) => set({ selectedRobotId }),

  reconcile: () =>
    set((s) => ({
      progress: Object.fromEntries(
        Object.entries(s.progress).map(([rid, steps]) => [
          rid,
          Object.fromEntries(Object.entries(steps).filter(([, step]) => step.status !== "running")),
        ]),
      ),
      plannedHands: {},
      executions: Object.fromEntries(Object.entries(s.executions).filter(([, e]) => isTerminal(e.status))),
    })),
}));
