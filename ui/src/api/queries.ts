// TanStack Query hooks, one per resource.
import { useQuery } from "@tanstack/react-query";
import { api } from "./endpoints";
import { useSystemStore } from "../stores/system";

import { isTerminal } from "./status";

export { isTerminal };

/** Queries wait for an API key. */
function useHasKey(): boolean {
  return useSystemStore((s) => s.apiKey !== null);
}

export const keys = {
  robots: ["robots"] as const,
  robotModel: (id: string) => ["robot-model", id] as const,
  skills: ["skills"] as const,
  skill: (id: string) => ["skill", id] as const,
  skillVersion: (id: string, v: string) => ["skill-version", id, v] as const,
  execution: (id: string) => ["execution", id] as const,
  executions: (robotId: string | null) => ["executions", robotId] as const,
  trace: (id: string) => ["trace", id] as const,
  zones: ["zones"] as const,
  events: (robotId: string | null, requestId: string | null = null) => ["safety-events", robotId, requestId] as const,
  hazards: ["hazards"] as const,
  edgeDevices: ["edge-devices"] as const,
  peripherals: ["peripherals"] as const,
  invokerStats: ["invoker-stats"] as const,
  analysis: (id: string) => ["analysis", id] as const,
};

export function useRobots() {
  return useQuery({ queryKey: keys.robots, queryFn: api.robots, enabled: useHasKey(), refetchInterval: 10_000 });
}

export function useRobotModel(robotId: string | null) {
  return useQuery({
    queryKey: keys.robotModel(robotId ?? ""),
    queryFn: () => api.robotModel(robotId!),
    enabled: useHasKey() && !!robotId,
    staleTime: Infinity,
    // a 404: the robot has not connected since the server started; look again now and then
    refetchInterval: (q) => (q.state.status === "error" ? 15_000 : false),
  });
}

export function useSkills() {
  return useQuery({ queryKey: keys.skills, queryFn: api.skills, enabled: useHasKey() });
}

export function useSkill(id: string | null) {
  return useQuery({ queryKey: keys.skill(id ?? ""), queryFn: () => api.skill(id!), enabled: useHasKey() && !!id });
}

export function useSkillVersion(id: string | null, version: string | null) {
  return useQuery({
    queryKey: keys.skillVersion(id ?? "", version ?? ""),
    queryFn: () => api.skillVersion(id!, version!),
    enabled: useHasKey() && !!id && !!version,
  });
}

/** One execution, polled every second until it is finished. */
export function useExecution(requestId: string | null) {
  return useQuery({
    queryKey: keys.execution(requestId ?? ""),
    queryFn: () => api.execution(requestId!),
    enabled: useHasKey() && !!requestId,
    refetchInterval: (q) => (isTerminal(q.state.data?.status) ? false : 1_000),
  });
}

export function useExecutions(robotId: string | null) {
  return useQuery({
    queryKey: keys.executions(robotId),
    queryFn: () => api.executions(robotId),
    enabled: useHasKey(),
    refetchInterval: 5_000,
  });
}

export function useTrace(requestId: string | null) {
  return useQuery({ queryKey: keys.trace(requestId ?? ""), queryFn: () => api.trace(requestId!), enabled: useHasKey() && !!requestId });
}

export function useZones() {
  return useQuery({ queryKey: keys.zones, queryFn: api.zones, enabled: useHasKey(), refetchInterval: 10_000 });
}

/** Recorded safety events, newest first: a robot's (or every robot's), or those of one execution. */
export function useSafetyEvents(robotId: string | null, limit = 100, requestId: string | null = null) {
  return useQuery({
    queryKey: keys.events(robotId, requestId),
    queryFn: () => api.safetyEvents({ robotId, requestId, limit }),
    enabled: useHasKey(),
    refetchInterval: 5_000,
  });
}

export function useHazards() {
  return useQuery({ queryKey: keys.hazards, queryFn: api.hazards, enabled: useHasKey(), refetchInterval: 3_000 });
}

export function useEdgeDevices() {
  return useQuery({ queryKey: keys.edgeDevices, queryFn: api.edgeDevices, enabled: useHasKey() });
}

export function usePeripherals() {
  return useQuery({ queryKey: keys.peripherals, queryFn: api.peripherals, enabled: useHasKey() });
}

export function useInvokerStats() {
  return useQuery({ queryKey: keys.invokerStats, queryFn: api.invokerStats, enabled: useHasKey(), refetchInterval: 5_000 });
}

/** The server's cause analysis of a finished execution; a 404 (an older server, or none yet) is
 * not an error: the dashboard explains the failure from the result and the events itself. */
export function useExecutionAnalysis(requestId: string | null, finished: boolean) {
  return useQuery({
    queryKey: keys.analysis(requestId ?? ""),
    queryFn: () => api.executionAnalysis(requestId!),
    enabled: useHasKey() && !!requestId && finished,
    retry: false,
    staleTime: Infinity,
  });
}
