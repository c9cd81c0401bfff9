// The zone dialog's form: text fields in, a validated zone body (or errors) out.
import type { BoxZone, ZoneOut, ZoneWrite } from "../api/types";

export interface ZoneFormValues {
  name: string;
  robotId: string; // "" = every robot
  center: [string, string, string];
  halfSize: [string, string, string];
}

export type ZoneFormErrors = Partial<Record<"name" | "center" | "halfSize", string>>;

export const EMPTY_ZONE_FORM: ZoneFormValues = { name: "", robotId: "", center: ["", "", ""], halfSize: ["", "", ""] };

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function formFromZone(z: ZoneOut): ZoneFormValues | null {
  if (z.zone.kind !== "box") return null;
  const s = (v: number) => String(v);
  return {
    name: z.zone.name,
    robotId: z.robot_id ?? "",
    center: [s(z.zone.center[0]), s(z.zone.center[1]), s(z.zone.center[2])],
    halfSize: [s(z.zone.half_size[0]), s(z.zone.half_size[1]), s(z.zone.half_size[2])],
  };
}

function parseNumber(text: string): number | null {
  if (text.trim() === "") return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

export function validateZoneForm(v: ZoneFormValues): { errors: ZoneFormErrors; body: ZoneWrite | null } {
  const errors: ZoneFormErrors = {};
  const name = v.name.trim();
  if (!name) errors.name = "a name is required";
  else if (!NAME_PATTERN.test(name)) errors.name = "letters, digits, _ . - (at most 64, starting with a letter or digit)";

  const center = v.center.map(parseNumber);
  if (center.some((x) => x === null)) errors.center = "x, y and z must be finite numbers (m)";

  const half = v.halfSize.map(parseNumber);
  if (half.some((x) => x === null)) errors.halfSize = "half sizes must be finite numbers (m)";
  else if (half.some((x) => (x as number) <= 0)) errors.halfSize = "half sizes must be greater than 0";

  if (Object.keys(errors).length) return { errors, body: null };
  const zone: BoxZone = {
    kind: "box",
    name,
    center: center as [number, number, number],
    half_size: half as [number, number, number],
  };
  return { errors, body: { robot_id: v.robotId || null, zone } };
}
