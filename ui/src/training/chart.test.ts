import { describe, expect, it } from "vitest";
import { busiestColumn, column, scaleSeries } from "./chart";

describe("scaleSeries", () => {
  it("maps the first point to the bottom left and the highest to the top", () => {
    const s = scaleSeries([{ x: [0, 10, 20], y: [1, 3, 2] }], 102, 52, false, 1);
    expect(s).not.toBeNull();
    expect(s!.lines[0]!.split(" ")).toEqual(["1.0,51.0", "51.0,1.0", "101.0,26.0"]);
    expect([s!.xMin, s!.xMax, s!.yMin, s!.yMax]).toEqual([0, 20, 1, 3]);
  });

  it("several series share one scale", () => {
    const s = scaleSeries([{ x: [0, 1], y: [0, 1] }, { x: [0, 1], y: [2, 4] }], 102, 52, false, 1);
    expect(s!.yMax).toBe(4);
    expect(s!.lines[0]!.split(" ")[0]).toBe("1.0,51.0");
    expect(s!.lines[1]!.split(" ")[1]).toBe("101.0,1.0");
  });

  it("a log scale keeps the range in the data's units and skips values it cannot show", () => {
    const s = scaleSeries([{ x: [0, 1, 2, 3], y: [10, 0, 0.1, NaN] }], 100, 50, true);
    expect(s!.lines[0]!.split(" ")).toHaveLength(2);
    expect(s!.yMax).toBeCloseTo(10, 9);
    expect(s!.yMin).toBeCloseTo(0.1, 9);
  });

  it("needs two points; a flat series is drawn without dividing by zero", () => {
    expect(scaleSeries([{ x: [0], y: [1] }], 100, 50)).toBeNull();
    const flat = scaleSeries([{ x: [0, 1], y: [2, 2] }], 100, 50);
    expect(flat!.lines[0]).not.toContain("NaN");
  });
});

describe("episode columns", () => {
  it("column reads one joint of T × d rows", () => {
    expect(column([[1, 2], [3, 4]], 1)).toEqual([2, 4]);
    expect(column([5, 6], 0)).toEqual([5, 6]);
  });

  it("busiestColumn picks the joint that moved most", () => {
    expect(busiestColumn([[0, 0, 1], [0.1, -2, 1], [0, 1, 1]], 3)).toBe(1);
    expect(busiestColumn([], 3)).toBe(0);
  });
});
