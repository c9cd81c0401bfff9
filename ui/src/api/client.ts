import { loadApiKey } from "./apiKey";
import { ApiError, detailOf } from "./errors";
import { useSystemStore } from "../stores/system";

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * One REST call: adds the X-API-Key header, parses JSON, turns an error response into an
 * ApiError carrying the server's detail. A 401 asks the operator for a key (the key dialog).
 */
export async function apiFetch<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const key = loadApiKey();
  if (key) headers["X-API-Key"] = key;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";

  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, `server unreachable: ${e instanceof Error ? e.message : String(e)}`);
  }

  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }

  if (!response.ok) {
    if (response.status === 401) useSystemStore.getState().requestApiKey();
    const fallback = typeof body === "string" && body ? body : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, detailOf(body, fallback));
  }
  return body as T;
}
