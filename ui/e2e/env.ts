// What the e2e suite needs from its environment.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set (see ui/README.md)`);
  return v;
}

export const BASE_URL = required("DYNAMICAL_URL").replace(/\/$/, "");
export const API_KEY = required("DYNAMICAL_API_KEY");
export const ARTIFACTS = resolve(process.env.E2E_ARTIFACTS ?? "e2e-artifacts");
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const ROBOT = process.env.E2E_ROBOT ?? "thor_001";

mkdirSync(ARTIFACTS, { recursive: true });
/** The platform server's pid (to kill it) and its robot agent's (to freeze it), when the runner knows them. */
export const SERVER_PID = Number(process.env.DYNAMICAL_SERVER_PID ?? "") || null;
export const AGENT_PID = Number(process.env.DYNAMICAL_AGENT_PID ?? "") || null;
export const AGENT_MODE = process.env.E2E_AGENT_MODE ?? "lockstep";
