import { describe, expect, it } from "vitest";
import { formFromZone, validateZoneForm, type ZoneFormValues } from "./zoneForm";

const valid: ZoneFormValues = { name: "e2e_keepout", robotId: "thor_001", center: ["0.2", "-0.6", "1.6"], halfSize: ["0.05", "0.05", "0.05"] };

describe("validateZoneForm", () => {
  it("turns valid fields into a box zone body", () => {
    expect(validateZoneForm(valid)).toEqual({
      errors: {},
      body: { robot_id: "thor_001", zone: { kind: "box", name: "e2e_keepout", center: [0.2, -0.6, 1.6], half_size: [0.05, 0.05, 0.05] } },
    });
    expect(validateZoneForm({ ...valid, robotId: "" }).body?.robot_id).toBeNull();
  });

  it("rejects non-finite numbers, empty fields and half sizes ≤ 0", () => {
    expect(validateZoneForm({ ...valid, center: ["abc", "0", "0"] }).errors.center).toBeDefined();
    expect(validateZoneForm({ ...valid, center: ["Infinity", "0", "0"] }).errors.center).toBeDefined();
    expect(validateZoneForm({ ...valid, center: ["", "0", "0"] }).errors.center).toBeDefined();
    expect(validateZoneForm({ ...valid, halfSize: ["0", "0.1", "0.1"] }).errors.halfSize).toBe("half sizes must be greater than 0");
    expect(validateZoneForm({ ...valid, halfSize: ["-1", "0.1", "0.1"] }).body).toBeNull();
    expect(validateZoneForm({ ...valid, name: " " }).errors.name).toBeDefined();
    expect(validateZoneForm({ ...valid, name: "has space" }).errors.name).toBeDefined();
  });

  it("round-trips a stored box zone; half-spaces have no box form", () => {
    const body = validateZoneForm(valid).body!;
    expect(formFromZone({ id: 1, created_at: "", ...body })).toEqual(valid);
    expect(formFromZone({ id: 2, created_at: "", robot_id: null, zone: { kind: "halfspace", name: "w", normal: [0, 0, 1], offset: 0 } })).toBeNull();
  });
});
