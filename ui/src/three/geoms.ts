// One three.js mesh per model geom, in its body's frame.
import * as THREE from "three";
import type { ModelGeom } from "../api/types";
import { toQuaternion, toVector } from "./convert";

/** Size of a plane drawn for a zero plane size (metres, each side). */
const DEFAULT_PLANE_M = 3;

function geometryFor(geom: ModelGeom): THREE.BufferGeometry | null {
  const s = geom.size;
  const at = (i: number) => s[i] ?? 0;
  switch (geom.type) {
    case "box":
      return new THREE.BoxGeometry(2 * at(0), 2 * at(1), 2 * at(2));
    case "sphere":
      return new THREE.SphereGeometry(at(0), 16, 12);
    case "ellipsoid": {
      const g = new THREE.SphereGeometry(1, 16, 12);
      g.scale(at(0), at(1), at(2));
      return g;
    }
    case "capsule": {
      // three's capsule runs along Y: turn it onto MuJoCo's local Z
      const g = new THREE.CapsuleGeometry(at(0), 2 * at(1), 4, 12);
      g.rotateX(Math.PI / 2);
      return g;
    }
    case "cylinder": {
      const g = new THREE.CylinderGeometry(at(0), at(0), 2 * at(1), 16);
      g.rotateX(Math.PI / 2);
      return g;
    }
    case "plane": {
      const w = at(0) > 0 ? 2 * at(0) : DEFAULT_PLANE_M;
      const h = at(1) > 0 ? 2 * at(1) : DEFAULT_PLANE_M;
      return new THREE.PlaneGeometry(w, h); // in local XY, normal +Z as in MuJoCo
    }
    default:
      return null; // mesh / hfield geoms are not sent with the model
  }
}

export function materialFor(rgba: readonly number[]): THREE.MeshStandardMaterial {
  const [r = 0.7, g = 0.7, b = 0.7, a = 1] = rgba;
  return new THREE.MeshStandardMaterial({
    color: new THREE.Color(r, g, b),
    transparent: a < 1,
    opacity: a,
    depthWrite: a >= 1,
    side: THREE.DoubleSide,
    roughness: 0.7,
    metalness: 0.05,
  });
}

export function meshForGeom(geom: ModelGeom): THREE.Mesh | null {
  if ((geom.rgba?.[3] ?? 1) <= 0) return null; // invisible (collision-only) geom
  const geometry = geometryFor(geom);
  if (!geometry) return null;
  const mesh = new THREE.Mesh(geometry, materialFor(geom.rgba ?? [0.7, 0.7, 0.7, 1]));
  toVector(geom.pos, mesh.position);
  toQuaternion(geom.quat, mesh.quaternion);
  return mesh;
}

export function disposeTree(root: THREE.Object3D): void {
  root.traverse((o) => {
    if (o instanceof THREE.Mesh || o instanceof THREE.Line) {
      o.geometry.dispose();
      const m = o.material as THREE.Material | THREE.Material[];
      (Array.isArray(m) ? m : [m]).forEach((x) => x.dispose());
    }
  });
}
