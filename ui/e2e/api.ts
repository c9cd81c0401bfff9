// Direct REST calls from the test (setup and checks), with the admin key.
import { API_KEY, BASE_URL } from "./env";

export async function api<T = unknown>(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(BASE_URL + path, {
    method: init.method ?? "GET",
    headers: { "X-API-Key": API_KEY, "Content-Type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export interface ZoneRow {
  id: number;
  robot_id: string | null;
  zone: { kind: string; name: string; center?: number[]; half_size?: number[] };
}

export async function zonesNamed(name: string): Promise<ZoneRow[]> {
  const { status, body } = await api<ZoneRow[]>("/api/safety/zones");
  if (status !== 200) throw new Error(`GET /api/safety/zones → ${status}`);
  return body.filter((z) => z.zone.name === name);
}
