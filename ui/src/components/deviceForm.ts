// The /devices registration form: a camera or a data glove, validated into a peripheral body. Pure.

export type DeviceKind = "camera" | "glove";

export interface DeviceFormValues {
  kind: DeviceKind;
  id: string;
  name: string;
  robotId: string; // "" = not attached to a robot
  interface: string;
  // camera
  url: string;
  width: string;
  height: string;
  fps: string;
  depth: boolean;
  // glove
  side: "left" | "right";
  address: string;
}

export const EMPTY_DEVICE_FORM: DeviceFormValues = {
  kind: "camera",
  id: "",
  name: "",
  robotId: "",
  interface: "usb",
  url: "",
  width: "640",
  height: "480",
  fps: "30",
  depth: false,
  side: "right",
  address: "",
};

export const INTERFACES: Record<DeviceKind, string[]> = {
  camera: ["usb", "ethernet", "csi", "wifi"],
  glove: ["bluetooth", "usb", "wifi"],
};

export interface PeripheralBody {
  id: string;
  name: string;
  kind: string;
  robot_id: string | null;
  interface: string;
  config: Record<string, unknown>;
}

export type DeviceFormErrors = Partial<Record<keyof DeviceFormValues, string>>;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function positiveInt(text: string, max: number): number | null {
  const n = Number(text);
  return text.trim() !== "" && Number.isInteger(n) && n > 0 && n <= max ? n : null;
}

export function validateDeviceForm(v: DeviceFormValues): { errors: DeviceFormErrors; body: PeripheralBody | null } {
  const errors: DeviceFormErrors = {};
  if (!ID_PATTERN.test(v.id.trim())) errors.id = "letters, digits, _ . - (at most 64, starting with a letter or digit)";
  if (!v.name.trim()) errors.name = "a name is required";
  if (!INTERFACES[v.kind].includes(v.interface)) errors.interface = `one of ${INTERFACES[v.kind].join(", ")}`;
  let config: Record<string, unknown>;
  if (v.kind === "camera") {
    const url = v.url.trim();
    if (!/^(rtsp|rtsps|http|https):\/\/\S+$/.test(url) && !/^\/dev\/video\d+$/.test(url)) {
      errors.url = "an rtsp:// or http(s):// stream URL, or a device such as /dev/video0";
    }
    const width = positiveInt(v.width, 8192);
    const height = positiveInt(v.height, 8192);
    const fps = positiveInt(v.fps, 1000);
    if (width === null || height === null) errors.width = "width and height in pixels (1–8192)";
    if (fps === null) errors.fps = "frames per second (1–1000)";
    config = { url, width_px: width, height_px: height, fps, depth: v.depth };
  } else {
    if (!v.address.trim()) errors.address = "the glove's address (Bluetooth MAC, serial port or host:port)";
    config = { side: v.side, address: v.address.trim() };
  }
  if (Object.keys(errors).length) return { errors, body: null };
  return {
    errors,
    body: {
      id: v.id.trim(),
      name: v.name.trim(),
      kind: v.kind === "camera" ? (v.depth ? "depth_camera" : "camera") : "glove",
      robot_id: v.robotId || null,
      interface: v.interface,
      config,
    },
  };
}
