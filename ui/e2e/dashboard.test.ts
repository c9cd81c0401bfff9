// The dashboard end to end: a real server, its simulated robot, the built UI, system Chromium.
// Tests run in order and share one browser page.
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, zonesNamed } from "./api";
import { launch, type Browser } from "./browser";
import { AGENT_MODE, AGENT_PID, API_KEY, ARTIFACTS, BASE_URL, ROBOT, SERVER_PID } from "./env";
import { msUntilBanner, record, summary } from "./metrics";
import { freeze, kill, thaw } from "./procs";

const ZONE = "e2e_keepout";
const TASK = "pick up the red cube and place it on the shelf";
const TERMINAL = /^(succeeded|failed|refused|cancelled|interrupted)$/;
const BANNER = '[data-testid="robot-banner"]';

let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
/** When test 5 stopped its Ctrl+R recording (its dataset is checked later, once written). */
let recordingStoppedAt = 0;

async function screenshot(name: string): Promise<void> {
  // from the top: the sticky header would otherwise sit mid-page in a full-page shot
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Client-side navigation through the sidebar (keeps the telemetry connection). */
async function goTo(path: string): Promise<void> {
  await page.locator(`nav[data-testid="sidebar"] a[href="${path}"]`).click();
  await page.waitForURL(`**${path}*`);
  await page.getByTestId(`page-${path.slice(1)}`).waitFor();
}

async function zoneCount(): Promise<number> {
  return Number(await page.getByTestId("robot-view").getAttribute("data-zone-count"));
}

/** Distinct colours in a sample of the 3D canvas (a blank or failed WebGL canvas has one or two). */
async function canvasColours(): Promise<number> {
  return page.getByTestId("robot-view").locator("canvas").evaluate((c: HTMLCanvasElement) => {
    const probe = document.createElement("canvas");
    probe.width = 64;
    probe.height = 64;
    const ctx = probe.getContext("2d");
    if (!ctx) return 0;
    ctx.drawImage(c, 0, 0, 64, 64);
    const data = ctx.getImageData(0, 0, 64, 64).data;
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += 4) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    return colours.size;
  });
}

async function noSidewaysScroll(): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
}

/** Resets the simulated world from the task panel's own control (seed 0). */
async function resetWorld(): Promise<void> {
  await goTo("/dashboard");
  await page.getByTestId("reset-seed").fill("0");
  await page.getByTestId("reset-world").click();
  await page.locator('[data-testid="toast"]', { hasText: "World reset" }).first().waitFor({ timeout: 60_000 });
}

/** Starts the seed task from the task box; resolves once its first step runs. */
async function startSeedTaskAndWaitForAStep(): Promise<string> {
  await page.getByTestId("task-input").fill(TASK);
  await page.getByTestId("task-submit").click();
  const progress = page.getByTestId("task-progress");
  await expect.poll(() => progress.getAttribute("data-request-id"), { timeout: 60_000 }).toMatch(/^[0-9a-f-]{36}$/);
  const requestId = (await progress.getAttribute("data-request-id"))!;
  await page.locator('[data-testid="task-step"][data-status="running"]').first().waitFor({ timeout: 120_000 });
  return requestId;
}

async function taskEnd(): Promise<string> {
  const status = page.getByTestId("task-status");
  await expect.poll(async () => (await status.textContent())?.trim(), { timeout: 120_000, interval: 250 }).toMatch(TERMINAL);
  return (await status.textContent())!.trim();
}

async function robotState(): Promise<{ safety: { mode: string; estop_category: number | null } | null }> {
  const { status, body } = await api<{ state: { safety: { mode: string; estop_category: number | null } | null } }>(
    `/api/v1/robots/${ROBOT}/state`,
  );
  expect(status).toBe(200);
  return body.state;
}

describe("dashboard e2e", () => {
  beforeAll(async () => {
    browser = await launch();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
  });

  afterAll(async () => {
    // leave the server clean even when a test failed half-way
    for (const z of await zonesNamed(ZONE).catch(() => [])) await api(`/api/safety/zones/${z.id}`, { method: "DELETE" });
    await api("/api/safety/reset", { method: "POST", body: { robot_id: ROBOT } }).catch(() => undefined);
    await browser?.close();
  });

  it("1. asks for the key once, then shows the robot connected", async () => {
    await page.goto(`${BASE_URL}/dashboard`);
    const dialog = page.getByTestId("api-key-dialog");
    await dialog.waitFor();
    await page.getByTestId("api-key-input").fill(API_KEY);
    await page.getByTestId("api-key-save").click();
    await dialog.waitFor({ state: "hidden" });
    expect(await page.evaluate(() => window.localStorage.getItem("dynamical.apiKey"))).toBe(API_KEY);

    const row = page.getByTestId(`robot-row-${ROBOT}`);
    await expect.poll(() => row.getAttribute("data-connected"), { timeout: 60_000 }).toBe("true");
    await expect.poll(() => row.getByTestId("robot-connected").textContent()).toBe("connected");
    await expect.poll(() => page.getByTestId("connection-state").getAttribute("data-state"), { timeout: 30_000 }).toBe("connected");
    // live telemetry reached the table: a real safety mode instead of "—"
    await expect.poll(() => row.locator(".mode").textContent(), { timeout: 30_000 }).toMatch(/^[A-Z_]+$/);
    // the 3D view: the robot model loaded, bodies built, and the canvas really drew something
    const view = page.getByTestId("robot-view");
    await expect.poll(() => view.getAttribute("data-model"), { timeout: 60_000 }).toBe("loaded");
    await expect.poll(async () => Number(await view.getAttribute("data-body-count")), { timeout: 30_000 }).toBeGreaterThan(10);
    await expect.poll(() => canvasColours(), { timeout: 30_000 }).toBeGreaterThan(20);
  });

  it("2. creates a keep-out zone in the UI, sees it in the 3D view and the API, edits and deletes it", async () => {
    for (const z of await zonesNamed(ZONE)) await api(`/api/safety/zones/${z.id}`, { method: "DELETE" }); // a previous run
    await page.getByTestId("robot-view").waitFor();
    await expect.poll(zoneCount, { timeout: 30_000 }).not.toBeNaN();
    const before = await zoneCount();

    await goTo("/safety");
    await page.getByTestId("zone-create").click();
    const dialog = page.getByTestId("zone-dialog");
    await dialog.waitFor();
    // validation: a zero half size is refused in the form
    await page.getByTestId("zone-name").fill(ZONE);
    await page.getByTestId("zone-robot").selectOption(ROBOT);
    for (const [axis, v] of [["x", "0.2"], ["y", "-0.6"], ["z", "1.6"]] as const) await page.getByTestId(`zone-center-${axis}`).fill(v);
    for (const axis of ["x", "y", "z"]) await page.getByTestId(`zone-halfSize-${axis}`).fill("0");
    await page.getByTestId("zone-save").click();
    await expect.poll(() => dialog.locator(".field-error").allTextContents()).toContain("half sizes must be greater than 0");
    for (const axis of ["x", "y", "z"]) await page.getByTestId(`zone-halfSize-${axis}`).fill("0.05");
    await page.getByTestId("zone-save").click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByTestId(`zone-row-${ZONE}`).waitFor();

    const stored = await zonesNamed(ZONE);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.robot_id).toBe(ROBOT);
    expect(stored[0]!.zone).toMatchObject({ kind: "box", center: [0.2, -0.6, 1.6], half_size: [0.05, 0.05, 0.05] });
    await screenshot("safety");

    await goTo("/dashboard");
    await expect.poll(zoneCount, { timeout: 30_000 }).toBe(before + 1);
    await expect.poll(() => canvasColours(), { timeout: 30_000 }).toBeGreaterThan(20);
    await screenshot("dashboard-zone");

    await goTo("/safety");
    const row = page.getByTestId(`zone-row-${ZONE}`);
    // edit it (PUT): a taller box, same id
    await row.getByTestId("zone-edit").click();
    await dialog.waitFor();
    expect(await page.getByTestId("zone-center-y").inputValue()).toBe("-0.6");
    await page.getByTestId("zone-halfSize-z").fill("0.08");
    await page.getByTestId("zone-save").click();
    await dialog.waitFor({ state: "hidden" });
    await expect.poll(async () => (await zonesNamed(ZONE))[0]?.zone.half_size, { timeout: 30_000 }).toEqual([0.05, 0.05, 0.08]);
    expect((await zonesNamed(ZONE))[0]!.id).toBe(stored[0]!.id);
    await expect.poll(() => row.textContent()).toContain("0.080");

    await row.getByTestId("zone-delete").click();
    await row.getByTestId("zone-delete-confirm").click();
    await row.waitFor({ state: "detached" });
    expect(await zonesNamed(ZONE)).toHaveLength(0);
    await goTo("/dashboard");
    await expect.poll(zoneCount, { timeout: 30_000 }).toBe(before);
  });

  it("3. runs the seed task from the task box to success", async () => {
    // The configured layout (seed 0), whatever earlier runs left on the table: both agents (the
    // two-process one through its realtime process) lay out their world again.
    const reset = await api<{ detail?: string }>(`/api/v1/robots/${ROBOT}/sim/reset`, { method: "POST", body: { seed: 0 } });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);

    await page.getByTestId("task-input").fill(TASK);
    await page.getByTestId("task-submit").click();
    const progress = page.getByTestId("task-progress");
    await progress.waitFor();
    const requestId = await progress.getAttribute("data-request-id");
    expect(requestId).toBeTruthy();

    const status = page.getByTestId("task-status");
    const view = page.getByTestId("robot-view");
    const started = Date.now();
    // While a step runs the 3D view draws its planned hand path (dashed); sampled until the end.
    let plannedSeen = 0;
    await expect
      .poll(
        async () => {
          plannedSeen = Math.max(plannedSeen, Number(await view.getAttribute("data-planned-points")));
          return (await status.textContent())?.trim();
        },
        { timeout: 480_000, interval: 250 }, // lock-step on a loaded 2-core machine: minutes
      )
      .toMatch(TERMINAL);
    const final = (await status.textContent())?.trim();
    console.log(`seed task ${requestId}: ${final} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(final).toBe("succeeded");
    expect(plannedSeen, "a planned hand path was drawn while the task ran").toBeGreaterThan(1);
    // the hand's actual path: a trail of many samples over the last 20 s
    expect(Number(await view.getAttribute("data-trail-points"))).toBeGreaterThan(30);

    const steps = page.getByTestId("task-step");
    const count = await steps.count();
    expect(count).toBeGreaterThan(0);
    expect(await steps.evaluateAll((els) => els.map((e) => e.getAttribute("data-status")))).toEqual(Array(count).fill("succeeded"));
    const execution = await api<{ status: string; steps_total: number }>(`/api/v1/robot/executions/${requestId}`);
    expect(execution.body.status).toBe("succeeded");
    expect(execution.body.steps_total).toBe(count);
    // The executive streams its plan ahead: a browser on the same cores costs the robot nothing,
    // so the kernel's watchdog never acted during a normal task.
    const events = await api<{ rule_name: string; t: number }[]>(
      `/api/safety/events?request_id=${requestId}&limit=1000`,
    );
    const watchdog = events.body.filter((e) => e.rule_name.startsWith("WATCHDOG_"));
    expect(watchdog, JSON.stringify(watchdog)).toEqual([]);
    await screenshot("dashboard");

    await page.getByTestId("task-progress").getByRole("link").click();
    await page.getByTestId("page-observability").waitFor();
    await expect.poll(() => page.getByTestId("waterfall-row").count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await screenshot("observability");
  });

  it("4. Ctrl+E on /skills stops the robot", async () => {
    await goTo("/skills");
    await page.getByTestId("skills-table").getByRole("button", { name: "Grasp" }).click();
    await expect.poll(() => page.getByTestId("skill-manifest").textContent(), { timeout: 30_000 }).toContain('"id": "grasp"');
    // route a task: each step's top-k skills with their weights
    await page.getByTestId("route-input").fill(TASK);
    await page.getByTestId("route-input").press("Enter");
    const bars = page.getByTestId("weight-bars");
    await expect.poll(() => bars.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const first = await bars.first().locator(".weight-value").allTextContents();
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((w) => Number(w) >= 0 && Number(w) <= 1)).toBe(true);
    await screenshot("skills");
    // the e-stop works even while typing in a field; its result is the banner, not a toast
    await page.getByTestId("route-input").focus();
    const ms = await msUntilBanner(page, "estop", () => page.keyboard.press("Control+e"));
    const banner = page.locator(BANNER);
    await expect.poll(() => banner.locator(".banner-title").textContent()).toContain("E-STOP (category 1)");
    await expect.poll(() => banner.getByTestId("banner-cause").textContent()).toMatch(/emergency stop/);
    expect((await robotState()).safety?.estop_category).toBe(1);
    expect(await noSidewaysScroll(), "a stop state never makes the page scroll sideways").toBe(true);

    // reset right there, on /skills
    await banner.getByTestId("banner-reset").click();
    await banner.waitFor({ state: "detached", timeout: 30_000 });
    await expect.poll(async () => (await robotState()).safety?.mode, { timeout: 30_000 }).toBe("RUNNING");

    // e-stop request → banner, a few more times for the report (p99 over the samples)
    const samples = [ms];
    for (let i = 0; i < 7; i++) {
      samples.push(
        await msUntilBanner(page, "estop", () => api("/api/safety/estop", { method: "POST", body: { robot_id: ROBOT, category: 1 } })),
      );
      expect((await api<{ ok: boolean }>("/api/safety/reset", { method: "POST", body: { robot_id: ROBOT } })).body.ok).toBe(true);
      await banner.waitFor({ state: "detached", timeout: 30_000 });
    }
    record("estop_to_banner_ms", summary(samples));
  });

  it("5. the remaining pages render", async () => {
    await goTo("/devices");
    await page.locator('[data-testid="page-devices"] .panel').nth(1).waitFor();
    await expect.poll(() => page.getByText("Loading…").count()).toBe(0);
    await screenshot("devices");

    // Ctrl+R records a demonstration on the selected robot: REC with its time and frames, then stop
    await goTo("/training");
    await page.getByTestId("record-panel").waitFor();
    await page.keyboard.press("Control+r");
    const rec = page.getByTestId("rec-indicator");
    await expect.poll(() => rec.getAttribute("data-active"), { timeout: 30_000 }).toBe("true");
    await expect.poll(async () => parseInt((await rec.getByTestId("rec-frames").textContent()) ?? "0", 10), { timeout: 30_000 }).toBeGreaterThan(5);
    expect(await rec.getByTestId("rec-elapsed").textContent()).toMatch(/^\d+:\d\d$/);
    await screenshot("training-recording");
    await page.keyboard.press("Control+r");
    recordingStoppedAt = Date.now();
    await expect.poll(async () => (await rec.count()) === 0 || (await rec.getAttribute("data-active")) === "false", { timeout: 30_000 }).toBe(true);
    const state = await api<{ recording: { active: boolean } | null }>(`/api/v1/robots/${ROBOT}/recording`);
    expect(state.body.recording?.active).toBe(false);

    // shortcuts: theme, "coming" ones, help dialog, sidebar
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
    const before = await theme();
    await page.keyboard.press("Control+d");
    await expect.poll(theme).not.toBe(before);
    await page.keyboard.press("Control+d");
    await expect.poll(theme).toBe(before);
    await page.keyboard.press("Control+Shift+Slash");
    await page.getByTestId("help-dialog").waitFor();
    await screenshot("help");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+s");
    await page.getByTestId("sidebar").waitFor({ state: "detached" });
    await page.keyboard.press("Control+s");
    await page.getByTestId("sidebar").waitFor();

    expect(consoleErrors.filter((e) => !/404|Failed to load resource/.test(e))).toEqual([]);
  });

  it("6. a refused task stays in the task panel, stored as refused", async () => {
    await goTo("/dashboard");
    await page.getByTestId("task-input").fill("bake a cake");
    await page.getByTestId("task-submit").click();
    await expect.poll(async () => (await page.getByTestId("task-status").textContent())?.trim(), { timeout: 60_000 }).toBe("refused");
    const reason = (await page.getByTestId("task-refusal").textContent()) ?? "";
    expect(reason.length).toBeGreaterThan(10);
    // not a toast that goes away: still there after navigating away and back, with the text kept
    await goTo("/skills");
    await goTo("/dashboard");
    expect(await page.getByTestId("task-refusal").textContent()).toBe(reason);
    expect(await page.getByTestId("task-input").inputValue()).toBe("bake a cake");
    const refused = await api<{ status: string; task_description: string }[]>(`/api/v1/robot/executions?robot_id=${ROBOT}&status=refused&limit=5`);
    expect(refused.status).toBe(200);
    expect(refused.body.some((e) => e.task_description === "bake a cake")).toBe(true);
  });

  it("7. a step stopped by an e-stop says so, with its events; the banner and its reset on /devices", async () => {
    await resetWorld();
    const requestId = await startSeedTaskAndWaitForAStep();
    expect((await api<{ ok: boolean }>("/api/safety/estop", { method: "POST", body: { robot_id: ROBOT, category: 1 } })).body.ok).toBe(true);
    expect(await taskEnd()).not.toBe("succeeded");
    const cause = page.getByTestId("step-cause").first();
    await expect.poll(() => cause.getByTestId("step-cause-headline").textContent(), { timeout: 30_000 }).toMatch(/emergency stop|e-stop/i);
    // the step's kernel-side events are attached, with units
    await expect.poll(() => cause.getByTestId("step-cause-events").textContent(), { timeout: 30_000 }).toContain("category 1");
    expect(await cause.getByTestId("step-cause-trace").getAttribute("href")).toContain(requestId);
    await screenshot("dashboard-failed-step");

    await goTo("/devices");
    const banner = page.locator(BANNER);
    await expect.poll(() => banner.getAttribute("data-kind"), { timeout: 30_000 }).toBe("estop");
    await screenshot("devices-estop");
    await banner.getByTestId("banner-reset").click();
    await banner.waitFor({ state: "detached", timeout: 30_000 });
    await expect.poll(async () => (await robotState()).safety?.mode, { timeout: 30_000 }).toBe("RUNNING");

    // the failed step opens into the trace at that step (its phase, where the trace has phases)
    await goTo("/dashboard");
    await page.getByTestId("step-cause-trace").first().click();
    await page.getByTestId("page-observability").waitFor();
    await expect.poll(() => page.getByTestId("waterfall-row").count(), { timeout: 30_000 }).toBeGreaterThan(0);
  });

  it.skipIf(AGENT_MODE !== "realtime" || AGENT_PID === null)(
    "8. a protective stop (the executive frozen past its lookahead): banner with its cause, reset on /devices",
    async () => {
      await resetWorld();
      const requestId = await startSeedTaskAndWaitForAStep();
      await goTo("/devices");
      const ms = await msUntilBanner(page, "protective_stop", async () => {
        freeze(AGENT_PID!);
        try {
          // 0.5 s of lookahead, then 100 missed 1 kHz ticks latch the stop; well past both
          await new Promise((r) => setTimeout(r, 1_500));
        } finally {
          thaw(AGENT_PID!);
        }
      });
      record("freeze_to_protective_stop_banner_ms", ms);
      const banner = page.locator(BANNER);
      await expect.poll(() => banner.getByTestId("banner-cause").textContent()).toContain("WATCHDOG_PROTECTIVE_STOP");
      // the task ends (not succeeded): read from the API, this page has no task box
      await expect
        .poll(async () => (await api<{ status: string }>(`/api/v1/robot/executions/${requestId}`)).body.status, { timeout: 120_000 })
        .toMatch(/^(failed|cancelled|interrupted)$/);
      await banner.getByTestId("banner-reset").click();
      await banner.waitFor({ state: "detached", timeout: 30_000 });
      await expect.poll(async () => (await robotState()).safety?.mode, { timeout: 30_000 }).toBe("RUNNING");
      // the hazards list follows the kernel: no protective stop once it cleared
      await goTo("/safety");
      await expect.poll(() => page.getByTestId("hazards-panel").textContent(), { timeout: 10_000 }).not.toContain("protective stop");
    },
  );

  it("9. 3D view: camera limits, reset view, frame rate; at 1024×700 the view is in the first screen", async () => {
    await page.setViewportSize({ width: 1024, height: 700 });
    await goTo("/dashboard");
    const view = page.getByTestId("robot-view");
    await expect.poll(() => view.getAttribute("data-model"), { timeout: 60_000 }).toBe("loaded");
    // the person stands on the floor as drawn: feet at z = 0 (a capsule's round may touch in), head up high
    await expect.poll(() => view.getAttribute("data-mannequin-bottom"), { timeout: 30_000 }).not.toBe("");
    expect(Math.abs(Number(await view.getAttribute("data-mannequin-bottom")))).toBeLessThanOrEqual(0.02);
    expect(Number(await view.getAttribute("data-mannequin-top"))).toBeGreaterThan(1.6);
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = (await view.boundingBox())!;
    expect(box.y + box.height, "the 3D view ends within the first 700 px").toBeLessThanOrEqual(700);
    expect(await noSidewaysScroll()).toBe(true);
    await screenshot("dashboard-1024");

    const home = Number(await view.getAttribute("data-camera-distance"));
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    // zoom in far more than the limit allows
    await page.mouse.move(cx, cy);
    // each notch dollies by 0.95^4: a dozen go from 2.5 m far past the 1 m limit
    for (let i = 0; i < 12; i++) await page.mouse.wheel(0, -400);
    await expect.poll(async () => Number(await view.getAttribute("data-camera-distance"))).toBeLessThan(home);
    expect(Number(await view.getAttribute("data-camera-distance"))).toBeGreaterThanOrEqual(0.999);
    expect(await canvasColours(), "never inside geometry: the view still shows a scene").toBeGreaterThan(20);
    // orbit down as far as the mouse goes: never below the floor
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(cx, cy - i * 60);
    await page.mouse.up();
    for (let i = 0; i < 16; i++) await page.mouse.wheel(0, 400); // and out, past the 6 m limit
    expect(Number(await view.getAttribute("data-camera-z"))).toBeGreaterThan(0.05);
    expect(Number(await view.getAttribute("data-camera-distance"))).toBeLessThanOrEqual(6.001);
    await view.getByTestId("reset-view").click();
    await expect.poll(async () => Number(await view.getAttribute("data-camera-distance"))).toBeCloseTo(home, 2);

    // the frame rate the view reports in its corner (software WebGL here), while the robot moves
    await expect.poll(() => view.getAttribute("data-fps"), { timeout: 10_000 }).not.toBe("");
    await page.setViewportSize({ width: 1440, height: 1000 });
  });

  it("10. the Ctrl+R recording is a dataset on /training: one episode, its joint plot (and video where recorded)", async () => {
    expect(recordingStoppedAt, "test 5 recorded").toBeGreaterThan(0);
    const ours = (d: { name: string }) => d.name.startsWith(`${ROBOT}-`);
    // written in the background by the learning environment: usually done during tests 6–9
    await expect
      .poll(async () => (await api<{ name: string }[]>("/api/v1/datasets")).body.filter(ours).length, { timeout: 180_000, interval: 1_000 })
      .toBeGreaterThan(0);
    record("recording_stop_to_dataset_ms_upper_bound", Date.now() - recordingStoppedAt);
    const name = (await api<{ name: string }[]>("/api/v1/datasets")).body.filter(ours).pop()!.name;
    await goTo("/training");
    const row = page.locator(`[data-testid="dataset-row"][data-name="${name}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getByTestId("dataset-episodes").textContent()).toBe("1");
    expect(Number(await row.getByTestId("dataset-frames").textContent())).toBeGreaterThan(5);
    await row.click();
    await page.getByTestId("episode-viewer").waitFor({ timeout: 30_000 });
    await expect.poll(async () => Number(await page.getByTestId("episode-joint-plot").getAttribute("data-points")), { timeout: 30_000 }).toBeGreaterThan(5);
    const info = await api<{ cameras: string[] }>(`/api/v1/datasets/${name}`);
    if (info.body.cameras.length > 0) {
      // the lock-step agent renders its cameras: the episode's video plays in the page
      await expect.poll(() => page.getByTestId("episode-video").count(), { timeout: 60_000 }).toBe(info.body.cameras.length);
    }
    await screenshot("training");
  });

  it("11. the server killed: within 3 s every live value greys out with 'last seen', nothing says connected", async () => {
    if (SERVER_PID === null) return; // only a runner that started the server may kill it
    await goTo("/dashboard");
    const row = page.getByTestId(`robot-row-${ROBOT}`);
    await expect.poll(() => row.getAttribute("data-live"), { timeout: 30_000 }).toBe("true");
    // the view's frame rate while live states stream in (the robot is idle: it still redraws per state)
    const view = page.getByTestId("robot-view");
    await new Promise((r) => setTimeout(r, 2_500));
    record("view_fps_idle_stream", Number(await view.getAttribute("data-fps")));
    const ms = await msUntilBanner(page, "link", async () => kill(SERVER_PID!));
    record("server_killed_to_stale_ms", ms);
    expect(ms).toBeLessThan(3_000);
    await expect.poll(() => row.getAttribute("data-live")).toBe("false");
    await expect.poll(() => row.getByTestId("robot-last-seen").textContent()).toMatch(/last seen/);
    expect(await view.getAttribute("data-live")).toBe("false");
    await view.getByTestId("robot-view-stale").waitFor();
    expect(await page.getByTestId("connection-state").getAttribute("data-state")).not.toBe("connected");
    // nothing on the page calls the robot connected
    const words = await page.locator('[data-testid="robot-connected"]').allTextContents();
    expect(words.every((w) => !/^connected$/.test(w.trim()))).toBe(true);
    await screenshot("dashboard-server-killed");
  });
});
