import { describe, expect, it } from "vitest";
import * as THREE from "three";
import type { ModelGeom } from "../api/types";
import { meshForGeom } from "./geoms";

function geom(partial: Partial<ModelGeom>): ModelGeom {
  return { type: "box", size: [0.1, 0.2, 0.3], pos: [0, 0, 0], quat: [1, 0, 0, 0], rgba: [1, 0, 0, 1], ...partial };
}

function extent(mesh: THREE.Mesh): THREE.Vector3 {
  mesh.geometry.computeBoundingBox();
  return mesh.geometry.boundingBox!.getSize(new THREE.Vector3());
}

describe("meshForGeom", () => {
  it("a box takes half extents", () => {
    const size = extent(meshForGeom(geom({}))!);
    expect([size.x, size.y, size.z].map((v) => +v.toFixed(6))).toEqual([0.2, 0.4, 0.6]);
  });

  it("capsules and cylinders run along the local z axis", () => {
    const capsule = extent(meshForGeom(geom({ type: "capsule", size: [0.05, 0.2, 0] }))!);
    expect(capsule.z).toBeCloseTo(0.5); // 2 × half-length + 2 × radius
    expect(capsule.x).toBeCloseTo(0.1, 2);
    const cylinder = extent(meshForGeom(geom({ type: "cylinder", size: [0.05, 0.2, 0] }))!);
    expect(cylinder.z).toBeCloseTo(0.4);
  });

  it("places the geom in its body frame and converts the quaternion to x, y, z, w", () => {
    const mesh = meshForGeom(geom({ pos: [1, 2, 3], quat: [0, 0, 0, 1] }))!;
    expect(mesh.position.toArray()).toEqual([1, 2, 3]);
    expect(mesh.quaternion.toArray()).toEqual([0, 0, 1, 0]);
  });

  it("alpha < 1 is transparent, alpha 0 is not drawn, a zero plane is drawn 3 m wide", () => {
    const glass = meshForGeom(geom({ rgba: [1, 1, 1, 0.4] }))!;
    expect((glass.material as THREE.MeshStandardMaterial).transparent).toBe(true);
    expect((glass.material as THREE.MeshStandardMaterial).opacity).toBeCloseTo(0.4);
    expect(meshForGeom(geom({ rgba: [1, 1, 1, 0] }))).toBeNull();
    expect(extent(meshForGeom(geom({ type: "plane", size: [0, 0, 0.05] }))!).x).toBeCloseTo(3);
    expect(meshForGeom(geom({ type: "mesh" }))).toBeNull();
  });
});
