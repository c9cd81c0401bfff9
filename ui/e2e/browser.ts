// The system Chromium through playwright-core: no browser download, a fresh profile per run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { CHROMIUM_PATH } from "./env";

export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // WebGL without a GPU: SwiftShader, so the 3D view renders
  "--use-angle=swiftshader",
  "--enable-unsafe-swiftshader",
];

export interface Browser {
  context: BrowserContext;
  close: () => Promise<void>;
}

export async function launch(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "dynamical-e2e-"));
  // headless comes from --headless=new above; the persistent context is how a fresh
  // --user-data-dir is given to playwright
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: false,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 1000 },
    timeout: 120_000,
  });
  context.setDefaultTimeout(60_000);
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
