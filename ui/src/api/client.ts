import { loadApiKey } from "./apiKey";
import { ApiError, detailOf } from "./errors";
import { useSystemStore } from "../stores/system";

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  body?: unknown;
  /** Bytes sent as they are (an artifact upload) instead of a JSON body. */
  raw?: Blob;
  signal?: AbortSignal;
}

/**
 * One REST call: adds the X-API-Key header, parses JSON, turns an error response into an
 * ApiError carrying the server's detail. A 401 asks the operator for a key (the key dialog).
 */
export async function apiFetch<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options, "application/json");
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

/** A binary resource (a video): the same key and errors as apiFetch. `<video src>` cannot send
 * the key header, so the dashboard fetches the bytes and plays an object URL. */
export async function apiBlob(path: string, options: RequestOptions = {}): Promise<Blob> {
  const response = await send(path, options, "*/*");
  if (!response.ok) {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    if (response.status === 401) useSystemStore.getState().requestApiKey();
    throw new ApiError(response.status, detailOf(body, text || `${response.status} ${response.statusText}`));
  }
  return response.blob();
}

async function send(path: string, options: RequestOptions, accept: string): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept };
  const key = loadApiKey();
  if (key) headers["X-API-Key"] = key;
  if (options.raw !== undefined) headers["Content-Type"] = "application/octet-stream";
  else if (options.body !== undefined) headers["Content-Type"] = "application/json";
  try {
    return await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.raw ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
      signal: options.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, `server unreachable: ${e instanceof Error ? e.message : String(e)}`);
  }
}
