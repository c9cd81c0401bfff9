// Ctrl+R and the REC indicator: start or stop recording a demonstration on the selected robot.
// Whether it records is the robot's own word (its state's `recording`, over telemetry), not a
// flag kept here: a recording started elsewhere (the API, another browser) shows the same.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { create } from "zustand";
import { learningApi, learningKeys } from "../api/learning";
import type { RecordingStatus } from "../api/learningTypes";
import { useRobotStore } from "../stores/robot";
import { useUiStore } from "../stores/ui";

export const DEFAULT_RECORDING_TASK = "teleoperated demonstration";

/** The task text stored with each recorded frame (set on /training; else the task box's text). */
export const useRecordingTask = create<{ task: string; setTask: (task: string) => void }>((set) => ({
  task: "",
  setTask: (task) => set({ task }),
}));

export function recordingTask(): string {
  const chosen = useRecordingTask.getState().task.trim() || useUiStore.getState().taskDraft.trim();
  return chosen.slice(0, 1000) || DEFAULT_RECORDING_TASK;
}

export function useRecordingStatus(robotId: string | null): RecordingStatus | null | undefined {
  return useRobotStore((s) => (robotId ? s.states[robotId]?.recording : undefined));
}

export function useRecordingToggle(robotId: string | null) {
  const qc = useQueryClient();
  const mutation = useMutation({
    meta: { title: "Recording" },
    mutationFn: ({ robot, start }: { robot: string; start: boolean }) =>
      start ? learningApi.startRecording(robot, recordingTask()) : learningApi.stopRecording(robot),
    onSuccess: (_result, { start }) => {
      // a stopped recording is written in the background: the datasets list picks it up
      if (!start) void qc.invalidateQueries({ queryKey: learningKeys.datasets });
    },
  });
  const toggle = () => {
    if (!robotId) {
      useUiStore.getState().pushToast({ title: "Recording", description: "no robot selected", kind: "error" });
      return;
    }
    if (mutation.isPending) return; // one command at a time: a double press must not start and stop
    const status = useRobotStore.getState().states[robotId]?.recording;
    if (status === null) {
      useUiStore.getState().pushToast({ title: "Recording", description: `${robotId}'s agent has no recorder`, kind: "error" });
      return;
    }
    mutation.mutate({ robot: robotId, start: !status?.active });
  };
  return { toggle, pending: mutation.isPending };
}
