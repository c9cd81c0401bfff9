// Figures the browser suite measures (banner latency, stale detection, 3D frame rate), written
// to E2E_ARTIFACTS/metrics.json for the report; the tests assert behaviour, not these numbers.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { ARTIFACTS } from "./env";

const figures: Record<string, unknown> = {};

export function record(name: string, value: unknown): void {
  figures[name] = value;
  writeFileSync(join(ARTIFACTS, "metrics.json"), JSON.stringify(figures, null, 2));
}

export function summary(samples: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: s[s.length - 1]! };
}

/** Milliseconds from `action` starting to the robot banner of `kind` appearing (a DOM observer
 * in the page stamps it; browser and test share the machine's clock). */
export async function msUntilBanner(page: Page, kind: string, action: () => Promise<unknown>): Promise<number> {
  await page.evaluate((k) => {
    const w = window as unknown as { __bannerAt: number | null; __bannerObs?: MutationObserver };
    w.__bannerAt = null;
    w.__bannerObs?.disconnect();
    const check = () => {
      if (w.__bannerAt === null && document.querySelector(`[data-testid="robot-banner"][data-kind="${k}"]`)) w.__bannerAt = Date.now();
    };
    w.__bannerObs = new MutationObserver(check);
    w.__bannerObs.observe(document.body, { subtree: true, childList: true, attributes: true });
    check();
  }, kind);
  const t0 = Date.now();
  await action();
  await page.waitForFunction(() => (window as unknown as { __bannerAt: number | null }).__bannerAt !== null, null, {
    timeout: 30_000,
  });
  const at = await page.evaluate(() => (window as unknown as { __bannerAt: number }).__bannerAt);
  return at - t0;
}
