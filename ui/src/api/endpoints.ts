// One typed function per REST endpoint the dashboard uses.
import { apiFetch } from "./client";
import type {
  CommandOut,
  CommandsOut,
  ExecutionAnalysis,
  EdgeDeviceOut,
  ExecutionOut,
  HealthOut,
  InvokeAccepted,
  InvokerStats,
  PeripheralOut,
  PlanOnly,
  RobotHazards,
  RobotModel,
  RobotOut,
  RobotStateOut,
  SafetyEventOut,
  SkillDetail,
  SkillSummary,
  SkillVersionDetail,
  TraceOut,
  ZoneChangeOut,
  ZoneOut,
  ZoneWrite,
} from "./types";

const enc = encodeURIComponent;

function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const api = {
  health: () => apiFetch<HealthOut>("/health"),

  robots: () => apiFetch<RobotOut[]>("/api/v1/robots"),
  robotState: (id: string) => apiFetch<RobotStateOut>(`/api/v1/robots/${enc(id)}/state`),
  robotModel: (id: string) => apiFetch<RobotModel>(`/api/v1/robots/${enc(id)}/model`),

  skills: () => apiFetch<SkillSummary[]>("/api/v1/skills"),
  skill: (id: string) => apiFetch<SkillDetail>(`/api/v1/skills/${enc(id)}`),
  skillVersion: (id: string, version: string) =>
    apiFetch<SkillVersionDetail>(`/api/v1/skills/${enc(id)}/versions/${enc(version)}`),
  routeTask: (task: string, robotId: string | null) =>
    apiFetch<PlanOnly>("/api/v1/skills/request", {
      method: "POST",
      body: robotId ? { task_description: task, robot_id: robotId } : { task_description: task },
    }),

  invokeSkill: (task: string, robotId: string | null) =>
    apiFetch<InvokeAccepted>("/api/v1/robot/invoke_skill", {
      method: "POST",
      body: robotId
        ? { task_description: task, wait: false, robot_id: robotId }
        : { task_description: task, wait: false },
    }),
  execution: (requestId: string) =>
    apiFetch<ExecutionOut>(`/api/v1/robot/executions/${enc(requestId)}`),
  executions: (robotId: string | null, limit = 50) =>
    apiFetch<ExecutionOut[]>(`/api/v1/robot/executions${query({ robot_id: robotId, limit })}`),
  invokerStats: () => apiFetch<InvokerStats>("/api/v1/robot/invoker/stats"),
  trace: (requestId: string) => apiFetch<TraceOut>(`/api/v1/traces/${enc(requestId)}`),

  zones: () => apiFetch<ZoneOut[]>("/api/safety/zones"),
  createZone: (body: ZoneWrite) => apiFetch<ZoneChangeOut>("/api/safety/zones", { method: "POST", body }),
  updateZone: (id: number, body: ZoneWrite) =>
    apiFetch<ZoneChangeOut>(`/api/safety/zones/${id}`, { method: "PUT", body }),
  deleteZone: (id: number) => apiFetch<ZoneChangeOut>(`/api/safety/zones/${id}`, { method: "DELETE" }),
  safetyEvents: (params: { robotId?: string | null; requestId?: string | null; limit?: number }) =>
    apiFetch<SafetyEventOut[]>(
      `/api/safety/events${query({ robot_id: params.robotId, request_id: params.requestId, limit: params.limit ?? 100 })}`,
    ),
  estop: (robotId: string | null, category: number) =>
    apiFetch<CommandsOut>("/api/safety/estop", { method: "POST", body: { robot_id: robotId, category } }),
  resetSafety: (robotId: string | null, posture = false) =>
    apiFetch<CommandsOut>("/api/safety/reset", { method: "POST", body: posture ? { robot_id: robotId, posture } : { robot_id: robotId } }),
  simReset: (robotId: string, seed: number) =>
    apiFetch<CommandOut>(`/api/v1/robots/${enc(robotId)}/sim/reset`, { method: "POST", body: { seed } }),
  executionAnalysis: (requestId: string) =>
    apiFetch<ExecutionAnalysis>(`/api/v1/robot/executions/${enc(requestId)}/analysis`),
  hazards: () => apiFetch<RobotHazards[]>("/api/safety/hazards"),

  edgeDevices: () => apiFetch<EdgeDeviceOut[]>("/api/v1/edge-devices"),
  peripherals: () => apiFetch<PeripheralOut[]>("/api/v1/peripherals"),
};
