// Keep-out zones as translucent red boxes (and large translucent planes for half-spaces).
import { useEffect, useRef } from "react";
import { DoubleSide, Mesh, type Group } from "three";
import type { ZoneOut } from "../api/types";
import { zoneShape } from "./zones";

/** `onDrawn`: how many zone meshes the scene holds after each commit. */
export function ZoneMeshes({ zones, onDrawn }: { zones: ZoneOut[]; onDrawn?: (count: number) => void }) {
  const group = useRef<Group>(null);
  useEffect(() => {
    onDrawn?.(group.current?.children.filter((c) => c instanceof Mesh).length ?? 0);
  });
  return (
    <group name="zones" ref={group}>
      {zones.map((z) => {
        const shape = zoneShape(z.zone);
        if (!shape) return null;
        const [w, x, y, q] = shape.quat;
        return (
          <mesh key={z.id} name={`zone:${z.zone.name}`} position={shape.position} quaternion={[x, y, q, w]} renderOrder={2}>
            {shape.kind === "box" ? <boxGeometry args={shape.size} /> : <planeGeometry args={[shape.size[0], shape.size[1]]} />}
            <meshStandardMaterial color="#e5383b" transparent opacity={shape.kind === "box" ? 0.35 : 0.15} depthWrite={false} side={DoubleSide} />
          </mesh>
        );
      })}
    </group>
  );
}
