// The hands' actual path (solid, rolling ~20 s) and planned path (dashed) as three.js lines.
import * as THREE from "three";
import type { Vec3 } from "../api/types";
import type { PlannedHands } from "../api/telemetry";
import type { HandSide } from "./kinematics";
import { appendToTrail, type TrailPoint } from "./trail";

export const TRAIL_WINDOW_S = 20;
const SIDES: HandSide[] = ["left", "right"];
export const HAND_COLORS: Record<HandSide, number> = { left: 0x0066ff, right: 0xff6a00 };
const COLORS = HAND_COLORS;

function makeLine(material: THREE.LineBasicMaterial | THREE.LineDashedMaterial): THREE.Line {
  // drawn over the bodies: a path behind an arm stays visible
  material.depthTest = false;
  const line = new THREE.Line(new THREE.BufferGeometry(), material);
  line.renderOrder = 10;
  line.frustumCulled = false;
  line.visible = false;
  return line;
}

function setPoints(line: THREE.Line, points: Vec3[], dashed: boolean): void {
  line.visible = points.length >= 2;
  if (!line.visible) return;
  const flat = new Float32Array(points.length * 3);
  points.forEach((p, i) => flat.set(p, i * 3));
  line.geometry.dispose();
  line.geometry = new THREE.BufferGeometry();
  line.geometry.setAttribute("position", new THREE.BufferAttribute(flat, 3));
  if (dashed) line.computeLineDistances();
}

export class HandPaths {
  readonly root = new THREE.Group();
  private trails: Record<HandSide, TrailPoint[]> = { left: [], right: [] };
  private readonly actual: Record<HandSide, THREE.Line>;
  private readonly planned: Record<HandSide, THREE.Line>;

  constructor() {
    this.root.name = "hand-paths";
    this.actual = {
      left: makeLine(new THREE.LineBasicMaterial({ color: COLORS.left })),
      right: makeLine(new THREE.LineBasicMaterial({ color: COLORS.right })),
    };
    this.planned = {
      left: makeLine(new THREE.LineDashedMaterial({ color: COLORS.left, dashSize: 0.03, gapSize: 0.02 })),
      right: makeLine(new THREE.LineDashedMaterial({ color: COLORS.right, dashSize: 0.03, gapSize: 0.02 })),
    };
    for (const side of SIDES) this.root.add(this.actual[side], this.planned[side]);
  }

  /** One state: the hands are at `hands` at robot time `t`; `planned` is the running step's plan. */
  update(t: number, hands: Partial<Record<HandSide, Vec3>>, planned: PlannedHands | null): void {
    for (const side of SIDES) {
      const now = hands[side];
      if (now) this.trails[side] = appendToTrail(this.trails[side], { t, p: now }, TRAIL_WINDOW_S);
      setPoints(this.actual[side], this.trails[side].map((x) => x.p), false);
      const target = planned?.[side];
      setPoints(this.planned[side], now && target?.length ? [now, ...target] : [], true);
    }
  }

  /** Points drawn now: the longest actual trail and the longest planned path over both hands. */
  counts(): { actual: number; planned: number } {
    const drawn = (line: THREE.Line) => (line.visible ? (line.geometry.getAttribute("position")?.count ?? 0) : 0);
    return {
      actual: Math.max(...SIDES.map((side) => drawn(this.actual[side]))),
      planned: Math.max(...SIDES.map((side) => drawn(this.planned[side]))),
    };
  }

  dispose(): void {
    for (const side of SIDES) {
      for (const line of [this.actual[side], this.planned[side]]) {
        line.geometry.dispose();
        (line.material as THREE.Material).dispose();
      }
    }
  }
}
