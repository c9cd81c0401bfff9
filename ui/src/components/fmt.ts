// Display formatting. Unknown values show as "—", never as a made-up number.
export const NONE = "—";

export function num(v: number | null | undefined, digits = 2, unit = ""): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NONE;
  return `${v.toFixed(digits)}${unit ? ` ${unit}` : ""}`;
}

export function pct(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NONE;
  return `${(v * 100).toFixed(digits)} %`;
}

export function text(v: string | null | undefined): string {
  return v === null || v === undefined || v === "" ? NONE : v;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return NONE;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? NONE : d.toLocaleString();
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NONE;
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`;
}

export function shortId(id: string): string {
  return id.length > 13 ? `${id.slice(0, 8)}…` : id;
}

/** Time of day only (the full date goes in a tooltip). */
export function clock(iso: string | null | undefined): string {
  if (!iso) return NONE;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? NONE : d.toLocaleTimeString();
}

/** Microseconds with as many decimals as small values need. */
export function us(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NONE;
  const a = Math.abs(v);
  return `${v.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0)} µs`;
}

/** A size in bytes, binary prefixes (KiB, MiB, GiB). */
export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v) || v < 0) return NONE;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let x = v;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i += 1;
  }
  return i === 0 ? `${x} B` : `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
}

/** A duration in seconds as h:mm:ss / m:ss / s. */
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s) || s < 0) return NONE;
  if (s < 60) return `${s.toFixed(1)} s`;
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
