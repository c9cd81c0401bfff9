// MuJoCo arrays → three.js objects (three's quaternions are x, y, z, w).
import * as THREE from "three";
import type { Quat, Vec3 } from "../api/types";
import type { Pose } from "./pose";

export function toQuaternion(q: Quat, out = new THREE.Quaternion()): THREE.Quaternion {
  return out.set(q[1], q[2], q[3], q[0]);
}

export function toVector(v: Vec3, out = new THREE.Vector3()): THREE.Vector3 {
  return out.set(v[0], v[1], v[2]);
}

export function applyPose(object: THREE.Object3D, pose: Pose): void {
  toVector(pose.p, object.position);
  toQuaternion(pose.q, object.quaternion);
}
