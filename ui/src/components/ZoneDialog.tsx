// Create or edit a box keep-out zone (Radix dialog form).
import * as Dialog from "@radix-ui/react-dialog";
import { lazy, Suspense, useState, type FormEvent } from "react";
import { useRobotModel, useRobots } from "../api/queries";
import type { ZoneWrite } from "../api/types";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { useRobotStore } from "../stores/robot";
import { bodyBounds, zoneTargets } from "../three/bodyBounds";
import { validateZoneForm, type ZoneFormErrors, type ZoneFormValues } from "./zoneForm";

// three.js is large: the preview is its own chunk, loaded when the dialog opens
const ZonePreview = lazy(() => import("../three/ZonePreview"));

interface Props {
  /** The zone being edited (its saved self is not drawn beside the preview). */
  editingId?: number | null;
  open: boolean;
  title: string;
  initial: ZoneFormValues;
  saving: boolean;
  onSave: (body: ZoneWrite) => void;
  onOpenChange: (open: boolean) => void;
}

const AXES = ["x", "y", "z"] as const;

function VectorField(props: {
  label: string;
  field: "center" | "halfSize";
  values: [string, string, string];
  error?: string;
  onChange: (i: number, v: string) => void;
}) {
  return (
    <fieldset className="vector">
      <legend>{props.label}</legend>
      {AXES.map((axis, i) => (
        <label key={axis}>
          {axis}
          <input
            type="text"
            inputMode="decimal"
            name={`${props.field}-${axis}`}
            data-testid={`zone-${props.field}-${axis}`}
            value={props.values[i]}
            onChange={(e) => props.onChange(i, e.target.value)}
            aria-invalid={props.error ? true : undefined}
          />
        </label>
      ))}
      {props.error ? <p className="field-error">{props.error}</p> : null}
    </fieldset>
  );
}

export function ZoneDialog({ open, title, initial, saving, onSave, onOpenChange, editingId = null }: Props) {
  const [values, setValues] = useState<ZoneFormValues>(initial);
  const [errors, setErrors] = useState<ZoneFormErrors>({});
  const { data: robots } = useRobots();
  const selected = useSelectedRobot();
  const worldRobot = values.robotId || selected;
  const model = useRobotModel(worldRobot);
  const objects = useRobotStore((s) => (worldRobot ? s.states[worldRobot]?.objects : undefined));
  const [around, setAround] = useState("");
  const [margin, setMargin] = useState("0.05");
  const targets = model.data ? zoneTargets(model.data) : [];
  const draft = validateZoneForm(values).body;

  /** Centre and half size from an object's or surface's box (where it is now), plus the margin. */
  const placeAround = () => {
    const m = Number(margin);
    if (!model.data || !around || !Number.isFinite(m) || m < 0) return;
    const b = bodyBounds(model.data, around, objects ?? [], m);
    if (!b) return;
    const t = (v: number) => String(v);
    setValues((prev) => ({
      ...prev,
      name: prev.name || `${around}_keepout`,
      center: [t(b.center[0]), t(b.center[1]), t(b.center[2])],
      halfSize: [t(b.half[0]), t(b.half[1]), t(b.half[2])],
    }));
  };

  const setVector = (field: "center" | "halfSize", i: number, v: string) =>
    setValues((prev) => {
      const next = [...prev[field]] as [string, string, string];
      next[i] = v;
      return { ...prev, [field]: next };
    });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const result = validateZoneForm(values);
    setErrors(result.errors);
    if (result.body) onSave(result.body);
  };

  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog" data-testid="zone-dialog">
          <Dialog.Title>{title}</Dialog.Title>
          <Dialog.Description>A box in the world frame (metres, z up). The robot keeps its hands out of it.</Dialog.Description>
          <form className="form" onSubmit={submit} noValidate>
            <label>
              Name
              <input
                type="text"
                name="name"
                data-testid="zone-name"
                value={values.name}
                onChange={(e) => setValues({ ...values, name: e.target.value })}
                aria-invalid={errors.name ? true : undefined}
              />
              {errors.name ? <span className="field-error">{errors.name}</span> : null}
            </label>
            <label>
              Robot
              <select data-testid="zone-robot" value={values.robotId} onChange={(e) => setValues({ ...values, robotId: e.target.value })}>
                <option value="">every robot</option>
                {robots?.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name}
                  </option>
                ))}
              </select>
            </label>
            <fieldset className="vector" data-testid="zone-around">
              <legend>Around an object or surface</legend>
              <label>
                what
                <select data-testid="zone-around-target" value={around} onChange={(e) => setAround(e.target.value)} disabled={!targets.length}>
                  <option value="">{targets.length ? "choose…" : "no robot model"}</option>
                  {targets.map((t) => (
                    <option key={t} value={t}>
                      {t}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                margin (m)
                <input type="text" inputMode="decimal" data-testid="zone-around-margin" value={margin} onChange={(e) => setMargin(e.target.value)} />
              </label>
              <button type="button" data-testid="zone-around-apply" disabled={!around} onClick={placeAround}>
                Place around
              </button>
            </fieldset>
            <VectorField label="Centre (m)" field="center" values={values.center} error={errors.center} onChange={(i, v) => setVector("center", i, v)} />
            <VectorField label="Half size (m)" field="halfSize" values={values.halfSize} error={errors.halfSize} onChange={(i, v) => setVector("halfSize", i, v)} />
            {open && worldRobot ? (
              <Suspense fallback={<p className="muted">Loading the preview…</p>}>
                <ZonePreview robotId={worldRobot} draft={draft} editingId={editingId} />
              </Suspense>
            ) : null}
            <div className="form-actions">
              <Dialog.Close type="button" className="button">
                Cancel
              </Dialog.Close>
              <button type="submit" className="primary" disabled={saving} data-testid="zone-save">
                {saving ? "Saving…" : "Save"}
              </button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
