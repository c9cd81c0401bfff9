// The learning loop's endpoints and their queries: datasets, training runs, recording, deploy.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiBlob, apiFetch } from "./client";
import type { CommandOut, SkillSummary } from "./types";
import type {
  DatasetInfo,
  DatasetSummary,
  DeploymentOut,
  SkillRegistered,
  EpisodeFrames,
  EpisodeSummary,
  TrainingRunCreate,
  TrainingRunDetail,
  TrainingRunSummary,
} from "./learningTypes";
import { useSystemStore } from "../stores/system";

const enc = encodeURIComponent;

export const learningApi = {
  datasets: () => apiFetch<DatasetSummary[]>("/api/v1/datasets"),
  dataset: (name: string) => apiFetch<DatasetInfo>(`/api/v1/datasets/${enc(name)}`),
  episodes: (name: string) => apiFetch<EpisodeSummary[]>(`/api/v1/datasets/${enc(name)}/episodes`),
  episodeFrames: (name: string, index: number) =>
    apiFetch<EpisodeFrames>(`/api/v1/datasets/${enc(name)}/episodes/${index}/frames`),
  episodeVideo: (name: string, index: number, camera: string, signal?: AbortSignal) =>
    apiBlob(`/api/v1/datasets/${enc(name)}/episodes/${index}/video/${enc(camera)}`, { signal }),

  runs: () => apiFetch<TrainingRunSummary[]>("/api/v1/training/runs"),
  run: (id: string) => apiFetch<TrainingRunDetail>(`/api/v1/training/runs/${enc(id)}`),
  startRun: (body: TrainingRunCreate) =>
    apiFetch<TrainingRunDetail>("/api/v1/training/runs", { method: "POST", body }),

  startRecording: (robotId: string, task: string) =>
    apiFetch<CommandOut>(`/api/v1/robots/${enc(robotId)}/recording/start`, { method: "POST", body: { task } }),
  stopRecording: (robotId: string) =>
    apiFetch<CommandOut>(`/api/v1/robots/${enc(robotId)}/recording/stop`, { method: "POST" }),

  uploadSkill: (artifact: Blob) =>
    apiFetch<SkillRegistered>("/api/v1/skills", { method: "POST", raw: artifact }),
  deploy: (skillId: string, version: string | null, robotIds: string[] | null) =>
    apiFetch<DeploymentOut[]>("/api/v1/skills/deploy", {
      method: "POST",
      body: { skill_id: skillId, ...(version ? { version } : {}), ...(robotIds ? { robot_ids: robotIds } : {}) },
    }),
};

export const learningKeys = {
  datasets: ["datasets"] as const,
  dataset: (name: string) => ["dataset", name] as const,
  episodes: (name: string) => ["episodes", name] as const,
  frames: (name: string, index: number) => ["episode-frames", name, index] as const,
  runs: ["training-runs"] as const,
  run: (id: string) => ["training-run", id] as const,
};

/** A run still training (its progress moves: poll it). */
export function isActiveRun(status: string | undefined): boolean {
  return status === "pending" || status === "running";
}

function useHasKey(): boolean {
  return useSystemStore((s) => s.apiKey !== null);
}

export function useDatasets() {
  // a stopped recording appears here once written (seconds to a minute): look again now and then
  return useQuery({ queryKey: learningKeys.datasets, queryFn: learningApi.datasets, enabled: useHasKey(), refetchInterval: 10_000 });
}

export function useDataset(name: string | null) {
  return useQuery({
    queryKey: learningKeys.dataset(name ?? ""),
    queryFn: () => learningApi.dataset(name!),
    enabled: useHasKey() && !!name,
  });
}

export function useEpisodes(name: string | null) {
  return useQuery({
    queryKey: learningKeys.episodes(name ?? ""),
    queryFn: () => learningApi.episodes(name!),
    enabled: useHasKey() && !!name,
  });
}

export function useEpisodeFrames(name: string | null, index: number | null) {
  return useQuery({
    queryKey: learningKeys.frames(name ?? "", index ?? -1),
    queryFn: () => learningApi.episodeFrames(name!, index!),
    enabled: useHasKey() && !!name && index !== null,
    staleTime: Infinity, // a written episode never changes
  });
}

export function useTrainingRuns() {
  return useQuery({
    queryKey: learningKeys.runs,
    queryFn: learningApi.runs,
    enabled: useHasKey(),
    refetchInterval: (q) => (q.state.data?.some((r) => isActiveRun(r.status)) ? 2_000 : 10_000),
  });
}

export function useTrainingRun(id: string | null) {
  return useQuery({
    queryKey: learningKeys.run(id ?? ""),
    queryFn: () => learningApi.run(id!),
    enabled: useHasKey() && !!id,
    refetchInterval: (q) => (q.state.data === undefined || isActiveRun(q.state.data.status) ? 2_000 : false),
  });
}

export function useStartRun() {
  const qc = useQueryClient();
  return useMutation({
    // the form shows why a start was refused (409, 422, 503) next to its fields
    meta: { title: "Training not started" },
    mutationFn: learningApi.startRun,
    onSuccess: (run) => {
      qc.setQueryData(learningKeys.run(run.id), run);
      void qc.invalidateQueries({ queryKey: learningKeys.runs });
    },
  });
}

export function useUploadSkill() {
  const qc = useQueryClient();
  return useMutation({
    meta: { title: "Upload refused" },
    mutationFn: learningApi.uploadSkill,
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["skills"] }),
  });
}

export function useDeploy() {
  return useMutation({
    meta: { title: "Deploy failed" },
    mutationFn: ({ skillId, version, robotIds }: { skillId: string; version: string | null; robotIds: string[] | null }) =>
      learningApi.deploy(skillId, version, robotIds),
  });
}

/** Learned skills (kind `policy`) in the registry: what the deploy action offers. */
export function policySkills(skills: SkillSummary[]): SkillSummary[] {
  return skills.filter((s) => s.kind === "policy");
}
