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
