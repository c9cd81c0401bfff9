// Scaling series into an SVG box (loss curves, joint plots), several on one shared scale. Pure.

export interface Series {
  /** x values (e.g. step, s), ascending. */
  x: number[];
  y: number[];
}

export interface Scaled {
  /** One polyline per series ("" for a series with nothing to draw). */
  lines: string[];
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

function usable(s: Series, log: boolean): [number, number][] {
  const pts: [number, number][] = [];
  for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
    const x = s.x[i]!;
    const y = s.y[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y) || (log && y <= 0)) continue;
    pts.push([x, log ? Math.log10(y) : y]);
  }
  return pts;
}

/** Polylines of `series` in a `width` × `height` box (y up) on one scale, skipping non-finite
 * points (and non-positive ones on a log scale). Null with fewer than two usable points in all. */
export function scaleSeries(series: Series[], width: number, height: number, log = false, pad = 2): Scaled | null {
  const all = series.map((s) => usable(s, log));
  const flat = all.flat();
  if (flat.length < 2) return null;
  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const [x, y] of flat) {
    xMin = Math.min(xMin, x);
    xMax = Math.max(xMax, x);
    yMin = Math.min(yMin, y);
    yMax = Math.max(yMax, y);
  }
  const xSpan = xMax - xMin || 1;
  const ySpan = yMax - yMin || 1;
  const lines = all.map((pts) =>
    pts
      .map(([x, y]) => {
        const px = pad + ((x - xMin) / xSpan) * (width - 2 * pad);
        const py = height - pad - ((y - yMin) / ySpan) * (height - 2 * pad);
        return `${px.toFixed(1)},${py.toFixed(1)}`;
      })
      .join(" "),
  );
  const back = (v: number) => (log ? 10 ** v : v);
  return { lines, xMin, xMax, yMin: back(yMin), yMax: back(yMax) };
}

/** Column `j` of an episode's rows (T × d), as numbers. */
export function column(rows: number[][] | number[], j: number): number[] {
  return rows.map((r) => (Array.isArray(r) ? (r[j] ?? NaN) : j === 0 ? r : NaN));
}

/** The index of the column that moves most (largest max − min): the joint worth plotting first. */
export function busiestColumn(rows: number[][], columns: number): number {
  let best = 0;
  let bestRange = -1;
  for (let j = 0; j < columns; j++) {
    const v = column(rows, j).filter(Number.isFinite);
    if (v.length === 0) continue;
    const range = Math.max(...v) - Math.min(...v);
    if (range > bestRange) {
      best = j;
      bestRange = range;
    }
  }
  return best;
}
