import { describe, expect, it } from "vitest";
import { EMPTY_DEVICE_FORM, validateDeviceForm } from "./deviceForm";

describe("validateDeviceForm", () => {
  it("a camera becomes a peripheral with its stream and format", () => {
    const { body, errors } = validateDeviceForm({ ...EMPTY_DEVICE_FORM, id: "head_cam", name: "Head camera", robotId: "thor_001", url: "rtsp://10.0.0.5/stream" });
    expect(errors).toEqual({});
    expect(body).toEqual({
      id: "head_cam",
      name: "Head camera",
      kind: "camera",
      robot_id: "thor_001",
      interface: "usb",
      config: { url: "rtsp://10.0.0.5/stream", width_px: 640, height_px: 480, fps: 30, depth: false },
    });
    expect(validateDeviceForm({ ...EMPTY_DEVICE_FORM, id: "d", name: "D", url: "/dev/video2", depth: true }).body?.kind).toBe("depth_camera");
  });

  it("a glove has a side and an address", () => {
    const form = { ...EMPTY_DEVICE_FORM, kind: "glove" as const, interface: "bluetooth", id: "glove_r", name: "Right glove", side: "right" as const };
    expect(validateDeviceForm(form).errors.address).toBeDefined();
    expect(validateDeviceForm({ ...form, address: "AA:BB:CC:DD:EE:FF" }).body).toMatchObject({
      kind: "glove",
      interface: "bluetooth",
      config: { side: "right", address: "AA:BB:CC:DD:EE:FF" },
    });
  });

  it("bad input is refused with a message per field", () => {
    const { body, errors } = validateDeviceForm({ ...EMPTY_DEVICE_FORM, id: " bad id", name: "", url: "ftp://x", width: "0", fps: "NaN", interface: "can" });
    expect(body).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(["fps", "id", "interface", "name", "url", "width"]);
  });
});
