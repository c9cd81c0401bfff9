// Inside the canvas: the robot model posed from telemetry, hand paths, zones, controls.
import { useEffect, useMemo, useRef } from "react";
import { useFrame, useThree } from "@react-three/fiber";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import type { RobotModel, ZoneOut } from "../api/types";
import { useRobotStore } from "../stores/robot";
import { HandPaths } from "./handPaths";
import { RobotGraph } from "./robotGraph";
import { ZoneMeshes } from "./ZoneMeshes";
import { MAX_DISTANCE_M, MAX_POLAR_RAD, MIN_DISTANCE_M, MIN_POLAR_RAD, ORBIT_TARGET } from "./cameraLimits";

export interface CameraInfo {
  distance: number;
  z: number;
}

/** Renders at most this often while states stream in (the machine may render in software). */
const MIN_FRAME_MS = 50;

function Controls({ resetSignal, onCamera }: { resetSignal: number; onCamera: (info: CameraInfo) => void }) {
  const camera = useThree((s) => s.camera);
  const gl = useThree((s) => s.gl);
  const invalidate = useThree((s) => s.invalidate);
  const controlsRef = useRef<OrbitControls | null>(null);
  useEffect(() => {
    const controls = new OrbitControls(camera, gl.domElement);
    controls.target.set(...ORBIT_TARGET);
    // Limits: never inside the robot or the table, never under the floor; orbit the workspace
    // only (panning would carry the target, and the limits with it, anywhere).
    controls.minDistance = MIN_DISTANCE_M;
    controls.maxDistance = MAX_DISTANCE_M;
    controls.minPolarAngle = MIN_POLAR_RAD;
    controls.maxPolarAngle = MAX_POLAR_RAD;
    controls.enablePan = false;
    controls.update();
    controls.saveState();
    controlsRef.current = controls;
    const report = () => onCamera({ distance: camera.position.distanceTo(controls.target), z: camera.position.z });
    report();
    controls.addEventListener("change", () => {
      invalidate();
      report();
    });
    return () => {
      controls.dispose();
      controlsRef.current = null;
    };
  }, [camera, gl, invalidate, onCamera]);
  useEffect(() => {
    if (resetSignal > 0) controlsRef.current?.reset();
  }, [resetSignal]);
  return null;
}

/** Frames drawn in the last second (the view renders on demand: this is what the operator gets). */
function FrameCounter({ onFps }: { onFps: (fps: number) => void }) {
  const frames = useRef(0);
  useFrame(() => {
    frames.current += 1;
  });
  useEffect(() => {
    let last = performance.now();
    const id = setInterval(() => {
      const now = performance.now();
      onFps((frames.current * 1000) / (now - last));
      frames.current = 0;
      last = now;
    }, 1000);
    return () => clearInterval(id);
  }, [onFps]);
  return null;
}

/** Where the drawn mannequin's lowest and highest points are (world z, m). */
export interface MannequinExtent {
  bottom: number;
  top: number;
}

export interface PathCounts {
  actual: number;
  planned: number;
}

function RobotBodies({
  model,
  robotId,
  onBodies,
  onPaths,
  onMannequin,
}: {
  model: RobotModel;
  robotId: string;
  onBodies: (count: number) => void;
  onPaths: (counts: PathCounts) => void;
  onMannequin: (extent: MannequinExtent | null) => void;
}) {
  const invalidate = useThree((s) => s.invalidate);
  const graph = useMemo(() => new RobotGraph(model), [model]);
  const paths = useMemo(() => new HandPaths(), [model]);

  useEffect(() => {
    onBodies(graph.root.children.length);
    return () => onBodies(0);
  }, [graph, onBodies]);

  useEffect(() => {
    let last = 0;
    let reported: PathCounts = { actual: -1, planned: -1 };
    let standing = "";
    let mannequinPose: string | null = null;
    let pending: ReturnType<typeof setTimeout> | null = null;
    const redraw = () => {
      pending = null;
      last = performance.now();
      invalidate();
    };
    const apply = () => {
      const s = useRobotStore.getState();
      const state = s.states[robotId] ?? null;
      const hands = graph.pose(state);
      // what the view draws of the person (the e2e test checks it stands on the floor): measured
      // again only when the person moved, not on every state
      const pose = state?.mannequin ? `${state.mannequin.pos.join()}|${state.mannequin.quat.join()}` : "model";
      if (pose !== mannequinPose) {
        mannequinPose = pose;
        const box = graph.extentOf("mannequin");
        const extent = box ? { bottom: box.min.z, top: box.max.z } : null;
        const key = extent ? `${extent.bottom.toFixed(3)}/${extent.top.toFixed(3)}` : "none";
        if (key !== standing) {
          standing = key;
          onMannequin(extent);
        }
      }
      if (state) {
        paths.update(state.t, hands, s.plannedHands[robotId]?.hands ?? null);
        const counts = paths.counts();
        if (counts.actual !== reported.actual || counts.planned !== reported.planned) {
          reported = counts;
          onPaths(counts);
        }
      }
      const wait = MIN_FRAME_MS - (performance.now() - last);
      if (wait <= 0) redraw();
      else if (!pending) pending = setTimeout(redraw, wait);
    };
    apply();
    const unsubscribe = useRobotStore.subscribe((s, prev) => {
      if (s.states[robotId] !== prev.states[robotId] || s.plannedHands[robotId] !== prev.plannedHands[robotId]) apply();
    });
    return () => {
      unsubscribe();
      if (pending) clearTimeout(pending);
    };
  }, [graph, paths, robotId, invalidate, onPaths, onMannequin]);

  useEffect(
    () => () => {
      graph.dispose();
      paths.dispose();
    },
    [graph, paths],
  );

  return (
    <>
      <primitive object={graph.root} />
      <primitive object={paths.root} />
    </>
  );
}

interface SceneProps {
  model: RobotModel | null;
  robotId: string;
  zones: ZoneOut[];
  onZonesDrawn: (count: number) => void;
  onBodies: (count: number) => void;
  onPaths: (counts: PathCounts) => void;
  onMannequin: (extent: MannequinExtent | null) => void;
  resetSignal: number;
  onCamera: (info: CameraInfo) => void;
  onFps: (fps: number) => void;
}

export function RobotScene({ model, robotId, zones, onZonesDrawn, onBodies, onPaths, onMannequin, resetSignal, onCamera, onFps }: SceneProps) {
  const invalidate = useThree((s) => s.invalidate);
  useEffect(() => invalidate(), [zones, model, invalidate]);
  return (
    <>
      <ambientLight intensity={0.6} />
      <directionalLight position={[3, -2, 5]} intensity={1.6} />
      {/* the model brings its own floor; without one, a grid on z = 0 */}
      {model ? null : <gridHelper args={[4, 20, 0x888888, 0x444444]} rotation={[Math.PI / 2, 0, 0]} />}
      <axesHelper args={[0.3]} />
      {model ? <RobotBodies model={model} robotId={robotId} onBodies={onBodies} onPaths={onPaths} onMannequin={onMannequin} /> : null}
      <ZoneMeshes zones={zones} onDrawn={onZonesDrawn} />
      <Controls resetSignal={resetSignal} onCamera={onCamera} />
      <FrameCounter onFps={onFps} />
    </>
  );
}
