import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useSystemStore } from "../stores/system";
import { saveApiKey } from "./apiKey";
import { apiFetch } from "./client";
import { ApiError } from "./errors";

function respond(status: number, body: unknown) {
  return vi.fn(async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status }));
}

describe("apiFetch", () => {
  beforeEach(() => useSystemStore.setState({ keyRequested: false }));
  afterEach(() => vi.unstubAllGlobals());

  it("sends the stored key and a JSON body", async () => {
    saveApiKey("dyn_key");
    const fetchMock = respond(200, { ok: true });
    vi.stubGlobal("fetch", fetchMock);
    await expect(apiFetch("/api/safety/estop", { method: "POST", body: { category: 1 } })).resolves.toEqual({ ok: true });
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/safety/estop");
    expect((init.headers as Record<string, string>)["X-API-Key"]).toBe("dyn_key");
    expect(init.body).toBe('{"category":1}');
  });

  it("a 401 asks the operator for the key", async () => {
    vi.stubGlobal("fetch", respond(401, { detail: "invalid API key" }));
    const err = await apiFetch("/api/v1/robots").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect(useSystemStore.getState().keyRequested).toBe(true);
  });

  it("surfaces the server's detail (string or validation list)", async () => {
    vi.stubGlobal("fetch", respond(409, { detail: "robot thor_001 is busy" }));
    await expect(apiFetch("/x")).rejects.toMatchObject({ status: 409, message: "robot thor_001 is busy" });
    vi.stubGlobal("fetch", respond(422, { detail: [{ loc: ["body", "seed"], msg: "Field required" }] }));
    await expect(apiFetch("/x")).rejects.toMatchObject({ status: 422, detail: "body.seed: Field required" });
    vi.stubGlobal("fetch", respond(500, "Internal Server Error"));
    await expect(apiFetch("/x")).rejects.toMatchObject({ status: 500, detail: "Internal Server Error" });
    expect(useSystemStore.getState().keyRequested).toBe(false);
  });

  it("an unreachable server is an ApiError with status 0", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await expect(apiFetch("/x")).rejects.toMatchObject({ status: 0, detail: "server unreachable: Failed to fetch" });
  });
});
