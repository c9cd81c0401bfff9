// Registers a camera or a data glove as a peripheral of a robot (POST /api/v1/peripherals,
// operate scope), and says how.
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "../api/client";
import { useRobots } from "../api/queries";
import type { PeripheralOut } from "../api/types";
import { useUiStore } from "../stores/ui";
import { EMPTY_DEVICE_FORM, INTERFACES, validateDeviceForm, type DeviceFormErrors, type DeviceFormValues, type PeripheralBody } from "./deviceForm";
import { Panel } from "./Panel";

export function RegisterDevice() {
  const [values, setValues] = useState<DeviceFormValues>(EMPTY_DEVICE_FORM);
  const [errors, setErrors] = useState<DeviceFormErrors>({});
  const robots = useRobots();
  const qc = useQueryClient();
  const save = useMutation({
    meta: { title: "Device not registered" },
    mutationFn: (body: PeripheralBody) => apiFetch<PeripheralOut>("/api/v1/peripherals", { method: "POST", body }),
    onSuccess: (row) => {
      useUiStore.getState().pushToast({ title: "Device registered", description: `${row.kind} ${row.id}`, kind: "success" });
      setValues({ ...EMPTY_DEVICE_FORM, kind: values.kind, interface: values.interface });
      void qc.invalidateQueries({ queryKey: ["peripherals"] });
    },
  });
  const set = <K extends keyof DeviceFormValues>(k: K, v: DeviceFormValues[K]) => setValues((prev) => ({ ...prev, [k]: v }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const result = validateDeviceForm(values);
    setErrors(result.errors);
    if (result.body) save.mutate(result.body);
  };
  const field = (k: keyof DeviceFormValues, label: string, placeholder = "") => (
    <label>
      {label}
      <input
        type="text"
        data-testid={`device-${k}`}
        value={String(values[k])}
        placeholder={placeholder}
        aria-invalid={errors[k] ? true : undefined}
        onChange={(e) => set(k, e.target.value as never)}
      />
      {errors[k] ? <span className="field-error">{errors[k]}</span> : null}
    </label>
  );
  return (
    <Panel title="Register a camera or a glove" testId="register-device">
      <p className="hint">
        A camera streams to the robot's perception (RTSP/HTTP URL or a V4L2 device); a data glove drives teleoperation of one
        hand. Both become peripherals of the robot (operate scope); the robot's agent picks them up when it next connects.
      </p>
      <form className="form" onSubmit={submit} noValidate>
        <label>
          Kind
          <select
            data-testid="device-kind"
            value={values.kind}
            onChange={(e) => {
              const kind = e.target.value as DeviceFormValues["kind"];
              setValues((prev) => ({ ...prev, kind, interface: INTERFACES[kind][0]! }));
            }}
          >
            <option value="camera">camera</option>
            <option value="glove">data glove</option>
          </select>
        </label>
        {field("id", "ID", "head_cam")}
        {field("name", "Name", "Head camera")}
        <label>
          Robot
          <select data-testid="device-robot" value={values.robotId} onChange={(e) => set("robotId", e.target.value)}>
            <option value="">none yet</option>
            {robots.data?.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Interface
          <select data-testid="device-interface" value={values.interface} onChange={(e) => set("interface", e.target.value)}>
            {INTERFACES[values.kind].map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </label>
        {values.kind === "camera" ? (
          <>
            {field("url", "Stream", "rtsp://10.0.0.5/stream or /dev/video0")}
            <div className="vector">
              {field("width", "Width (px)")}
              {field("height", "Height (px)")}
              {field("fps", "Rate (fps)")}
            </div>
            <label className="inline">
              <input type="checkbox" checked={values.depth} onChange={(e) => set("depth", e.target.checked)} /> depth camera
            </label>
          </>
        ) : (
          <>
            <label>
              Hand
              <select data-testid="device-side" value={values.side} onChange={(e) => set("side", e.target.value as "left" | "right")}>
                <option value="right">right</option>
                <option value="left">left</option>
              </select>
            </label>
            {field("address", "Address", "AA:BB:CC:DD:EE:FF, /dev/ttyUSB0 or host:port")}
          </>
        )}
        <div className="form-actions">
          <button type="submit" className="primary" data-testid="device-save" disabled={save.isPending}>
            {save.isPending ? "Registering…" : "Register"}
          </button>
        </div>
      </form>
    </Panel>
  );
}
