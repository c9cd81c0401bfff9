// Emergency stop and reset of one robot (or all: robotId null). Their result is the robot-state
// banner (it follows the kernel's own state); only a command a robot did not confirm is a toast.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/endpoints";
import type { CommandsOut } from "../api/types";
import { useUiStore } from "../stores/ui";

function summarize(result: CommandsOut): string {
  if (!result.robots.length) return "no robot answered";
  return result.robots.map((r) => `${r.robot_id}: ${r.ok ? "confirmed" : "NOT confirmed"}${r.detail ? ` (${r.detail})` : ""}`).join("; ");
}

export function useEstop() {
  const qc = useQueryClient();
  return useMutation({
    meta: { title: "E-STOP failed" },
    mutationFn: ({ robotId, category }: { robotId: string | null; category: number }) => api.estop(robotId, category),
    onSuccess: (result) => {
      if (!result.ok) useUiStore.getState().pushToast({ title: "E-STOP NOT confirmed", description: summarize(result), kind: "error" });
      void qc.invalidateQueries({ queryKey: ["hazards"] });
    },
  });
}

export function useSafetyReset(posture = false) {
  const qc = useQueryClient();
  return useMutation({
    meta: { title: posture ? "Go home failed" : "Reset failed" },
    mutationFn: (robotId: string | null) => api.resetSafety(robotId, posture),
    onSuccess: (result) => {
      if (!result.ok) {
        useUiStore.getState().pushToast({ title: posture ? "Go home NOT done" : "Reset NOT confirmed", description: summarize(result), kind: "error" });
      }
      void qc.invalidateQueries({ queryKey: ["hazards"] });
    },
  });
}
