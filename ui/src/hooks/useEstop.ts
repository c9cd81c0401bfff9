// Emergency stop and reset of one robot (or all: robotId null), each reporting its result as a toast.
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
    onSuccess: (result, { category }) => {
      useUiStore.getState().pushToast({
        title: result.ok ? `E-STOP (category ${category}) engaged` : "E-STOP NOT confirmed",
        description: summarize(result),
        kind: result.ok ? "success" : "error",
      });
      void qc.invalidateQueries({ queryKey: ["hazards"] });
    },
  });
}

export function useSafetyReset() {
  const qc = useQueryClient();
  return useMutation({
    meta: { title: "Reset failed" },
    mutationFn: (robotId: string | null) => api.resetSafety(robotId),
    onSuccess: (result) => {
      useUiStore.getState().pushToast({
        title: result.ok ? "Safety reset" : "Reset NOT confirmed",
        description: summarize(result),
        kind: result.ok ? "success" : "error",
      });
      void qc.invalidateQueries({ queryKey: ["hazards"] });
    },
  });
}
