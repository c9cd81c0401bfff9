// /training and the REC indicator rendered against a fake server (fetch answered from fixtures
// shaped like the API's responses): what the operator sees and what the page sends.
import { act, configure, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DatasetInfo, DatasetSummary, RecordingStatus, TrainingRunDetail } from "../api/learningTypes";
import type { RobotOut, RobotState } from "../api/types";
import { API_KEY_STORAGE } from "../api/apiKey";
import { RecIndicator } from "../components/RecIndicator";
import TrainingPage from "../pages/TrainingPage";
import { useRobotStore } from "../stores/robot";
import { useSystemStore } from "../stores/system";

const ROBOT = "thor_001";
// A page renders in about a second here; a 2-core machine with other work beside it may take many.
configure({ asyncUtilTimeout: 15_000 });

const dataset: DatasetSummary = {
  name: "pick_3",
  codebase_version: "v3.0",
  robot: "humanoid",
  skill: "pick",
  fps: 30,
  episodes: 3,
  frames: 270,
  duration_s: 9,
  cameras: [],
  tasks: ["pick up the red cube"],
  successes: 3,
  size_bytes: 3 * 1024 * 1024,
  modified_at: "2026-12-07T15:00:00Z",
};

const info: DatasetInfo = {
  ...dataset,
  features: [
    { name: "observation.state", dtype: "float32", shape: [4], names: ["a.pos", "b.pos", "a.vel", "b.vel"] },
    { name: "action", dtype: "float32", shape: [2], names: ["a", "b"] },
  ],
  params: {},
  randomization: {},
  joint_names: ["a", "b"],
  object_names: ["red_cube"],
};

const run: TrainingRunDetail = {
  id: "run-1",
  status: "running",
  policy: "act",
  dataset: "/data/datasets/pick_3",
  out_dir: "/data/training/runs/run-1",
  step: 40,
  total_steps: 100,
  checkpoint_step: 20,
  loss: 0.5,
  priority: "idle",
  seconds: 20,
  attempts: 1,
  host: "edge",
  created_at: "2026-12-07T15:00:00Z",
  started_at: "2026-12-07T15:00:01Z",
  finished_at: null,
  error: null,
  config: {
    policy: "act",
    steps: 100,
    batch_size: 8,
    chunk_size: 20,
    n_action_steps: null,
    dim_model: 64,
    layers: 2,
    lr: null,
    inputs: null,
    device: "cpu",
    save_every: 20,
    log_every: 10,
    seed: 1000,
  },
  parameters: 1_500_000,
  loss_curve: [
    { step: 10, loss: 2 },
    { step: 20, loss: 1 },
    { step: 40, loss: 0.5 },
  ],
};

const robot: RobotOut = {
  id: ROBOT,
  name: "Thor",
  profile: "humanoid",
  kind: "sim",
  embodiment: null,
  info: {},
  registered_at: "2026-12-07T15:00:00Z",
  last_seen_at: null,
  connected: true,
};

interface Call {
  method: string;
  path: string;
  body: unknown;
}

let calls: Call[];

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function fakeServer(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const path = String(input);
  const method = init?.method ?? "GET";
  calls.push({ method, path, body: init?.body ? JSON.parse(String(init.body)) : undefined });
  if (path === "/api/v1/robots") return Promise.resolve(json([robot]));
  if (path === "/api/v1/datasets") return Promise.resolve(json([dataset]));
  if (path === "/api/v1/datasets/pick_3") return Promise.resolve(json(info));
  if (path === "/api/v1/datasets/pick_3/episodes")
    return Promise.resolve(
      json([0, 1, 2].map((i) => ({ episode_index: i, length: 90, duration_s: 3, tasks: ["pick up the red cube"], success: true, seed: i, failure: null, videos: [] }))),
    );
  if (path.startsWith("/api/v1/datasets/pick_3/episodes/0/frames"))
    return Promise.resolve(
      json({ timestamp: [0, 0.033, 0.067], "observation.state": [[0, 0, 0, 0], [0, 0.2, 0, 1], [0, 0.4, 0, 1]], action: [[0, 0.1], [0, 0.3], [0, 0.5]] }),
    );
  if (path === "/api/v1/training/runs" && method === "GET") return Promise.resolve(json([run]));
  if (path === "/api/v1/training/runs" && method === "POST") return Promise.resolve(json({ detail: "a run is training on this machine already" }, 409));
  if (path === "/api/v1/training/runs/run-1") return Promise.resolve(json(run));
  if (path === "/api/v1/skills") return Promise.resolve(json([]));
  if (path.endsWith("/recording/start") || path.endsWith("/recording/stop")) return Promise.resolve(json({ robot_id: ROBOT, ok: true }));
  return Promise.resolve(json({ detail: `no fake for ${method} ${path}` }, 404));
}

function renderAt(url: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter(
    [{ path: "/training", element: (<><RecIndicator /><TrainingPage /></>) }],
    { initialEntries: [url] },
  );
  return render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
}

function robotState(recording: RecordingStatus | null): RobotState {
  return { robot_id: ROBOT, t: 1, joint_names: ["a", "b"], q: [0, 0], dq: [0, 0], safety: null, timing: {}, objects: [], busy: false, fault: null, recording };
}

const idle: RecordingStatus = { active: false, dataset: null, task: null, frames: 0, started_at: null, writing: [], error: null };

describe("/training", { timeout: 60_000 }, () => {
  beforeEach(() => {
    calls = [];
    window.localStorage.setItem(API_KEY_STORAGE, "k");
    useSystemStore.setState({ apiKey: "k" });
    useRobotStore.setState({ states: {}, selectedRobotId: ROBOT });
    vi.stubGlobal("fetch", vi.fn(fakeServer));
  });
  afterEach(() => vi.unstubAllGlobals());

  it("lists datasets; a picked one shows its features, episodes and a joint plot", async () => {
    renderAt("/training?dataset=pick_3&episode=0");
    const row = await screen.findByText("pick_3", { selector: "button" });
    expect(within(row.closest("tr")!).getByTestId("dataset-episodes").textContent).toBe("3");
    expect(within(row.closest("tr")!).getByText("3.0 MiB")).toBeTruthy();
    const features = await screen.findByTestId("dataset-features");
    expect(features.textContent).toContain("observation.state");
    expect(features.textContent).toContain("4");
    expect((await screen.findAllByTestId("episode-row")).length).toBe(3);
    // the joint that moved most (b) is plotted first, measured and commanded
    const plot = await screen.findByTestId("episode-joint-plot");
    expect(plot.getAttribute("data-points")).toBe("3");
    expect(plot.querySelectorAll("polyline").length).toBe(2);
    expect((screen.getByTestId("episode-joint") as HTMLSelectElement).value).toBe("1");
  });

  it("a run: live progress, loss curve, settings, checkpoint and the package command", async () => {
    renderAt("/training?run=run-1");
    const detail = await screen.findByTestId("run-detail");
    await waitFor(() => expect(within(detail).getByTestId("run-status").textContent).toBe("running"));
    expect(within(detail).getByTestId("run-progress").textContent).toContain("40 / 100");
    expect(within(detail).getByTestId("loss-curve").getAttribute("data-points")).toBe("3");
    expect(within(detail).getByTestId("run-config").textContent).toContain("1.50 M parameters");
    expect(within(detail).getByTestId("run-artifacts").textContent).toContain("step 20");
    expect(within(detail).getByTestId("package-command").textContent).toContain(
      "dynamical skills package /data/training/runs/run-1 --id learned_pick --version 1.0.0",
    );
  });

  it("the start form refuses bad settings itself, and shows the server's refusal", async () => {
    renderAt("/training?dataset=pick_3");
    await screen.findByTestId("datasets-table");
    fireEvent.change(screen.getByTestId("train-steps"), { target: { value: "0" } });
    fireEvent.click(screen.getByTestId("train-start"));
    expect(await screen.findByText(/a whole number of steps/)).toBeTruthy();
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    fireEvent.change(screen.getByTestId("train-steps"), { target: { value: "50" } });
    fireEvent.click(screen.getByTestId("train-start"));
    expect((await screen.findByTestId("train-error")).textContent).toContain("a run is training on this machine already");
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({ dataset: "pick_3", policy: "act", steps: 50, batch_size: 8, device: "cpu" });
  });

  it("REC: Ctrl+R's toggle starts, the robot's state shows REC with time, frames and episode, Stop stops", async () => {
    renderAt("/training");
    act(() => useRobotStore.getState().applyState(ROBOT, robotState(idle), 1));
    expect(screen.queryByTestId("rec-indicator")).toBeNull();
    const toggle = await screen.findByTestId("record-toggle");
    await waitFor(() => expect((toggle as HTMLButtonElement).disabled).toBe(false));
    fireEvent.change(screen.getByTestId("record-task"), { target: { value: "stack the cubes" } });
    fireEvent.click(toggle);
    await waitFor(() => expect(calls.some((c) => c.path.endsWith("/recording/start"))).toBe(true));
    expect(calls.find((c) => c.path.endsWith("/recording/start"))!.body).toEqual({ task: "stack the cubes" });

    const started = new Date(Date.now() - 65_000).toISOString();
    act(() => useRobotStore.getState().applyState(ROBOT, robotState({ ...idle, active: true, frames: 1950, started_at: started }), 2));
    const rec = await screen.findByTestId("rec-indicator");
    expect(rec.getAttribute("data-active")).toBe("true");
    expect(within(rec).getByTestId("rec-elapsed").textContent).toMatch(/^1:0\d$/); // 65 s ago, as of the last tick of the 0.5 s clock
    expect(within(rec).getByTestId("rec-frames").textContent).toBe("1950 frames");
    expect(within(rec).getByTestId("rec-episode").textContent).toBe("episode 1"); // pick_3 is not this robot's recording
    fireEvent.click(within(rec).getByTestId("rec-stop"));
    await waitFor(() => expect(calls.some((c) => c.path === `/api/v1/robots/${ROBOT}/recording/stop`)).toBe(true));

    act(() => useRobotStore.getState().applyState(ROBOT, robotState({ ...idle, writing: [`${ROBOT}-20261207-150000-0`] }), 3));
    expect((await screen.findByTestId("rec-writing")).textContent).toBe("writing 1 episode…");
    expect(screen.getByTestId("record-state").textContent).toContain("1 episode recorded");
  });
});
