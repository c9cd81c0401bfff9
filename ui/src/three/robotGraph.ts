// The scene graph of a RobotModel: one group per body, all in world coordinates, posed by FK.
import * as THREE from "three";
import type { RobotModel, RobotState } from "../api/types";
import { applyPose } from "./convert";
import { disposeTree, meshForGeom } from "./geoms";
import { forwardKinematics, handPositions, indexJoints, type HandSide } from "./kinematics";
import type { Vec3 } from "../api/types";

export class RobotGraph {
  readonly root = new THREE.Group();
  readonly bodyCount: number;
  private readonly groups: THREE.Group[];
  private readonly joints: ReturnType<typeof indexJoints>;

  constructor(private readonly model: RobotModel) {
    this.root.name = "robot";
    this.joints = indexJoints(model);
    this.groups = model.bodies.map((body) => {
      const group = new THREE.Group();
      group.name = body.name;
      group.userData.role = body.role;
      for (const geom of body.geoms) {
        const mesh = meshForGeom(geom);
        if (mesh) group.add(mesh);
      }
      this.root.add(group);
      return group;
    });
    this.bodyCount = this.groups.length;
    this.pose(null);
  }

  /** Poses every body for this state (null: the rest pose); returns the grasp sites' positions. */
  pose(state: RobotState | null): Partial<Record<HandSide, Vec3>> {
    const poses = forwardKinematics(this.model, state, this.joints);
    poses.forEach((p, i) => applyPose(this.groups[i]!, p));
    return handPositions(this.model, poses);
  }

  /** The world-space box (m) around what is drawn of the bodies with `role` (e.g. the mannequin,
   * whose feet belong on the floor), as posed now; null when none has geometry. */
  extentOf(role: string): THREE.Box3 | null {
    const box = new THREE.Box3();
    this.root.updateMatrixWorld(true);
    for (const group of this.groups) if (group.userData.role === role) box.expandByObject(group, true);
    return box.isEmpty() ? null : box;
  }

  dispose(): void {
    disposeTree(this.root);
  }
}
