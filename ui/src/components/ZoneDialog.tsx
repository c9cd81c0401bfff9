// Create or edit a box keep-out zone (Radix dialog form).
import * as Dialog from "@radix-ui/react-dialog";
import { useState, type FormEvent } from "react";
import { useRobots } from "../api/queries";
import type { ZoneWrite } from "../api/types";
import { validateZoneForm, type ZoneFormErrors, type ZoneFormValues } from "./zoneForm";

interface Props {
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

export function ZoneDialog({ open, title, initial, saving, onSave, onOpenChange }: Props) {
  const [values, setValues] = useState<ZoneFormValues>(initial);
  const [errors, setErrors] = useState<ZoneFormErrors>({});
  const { data: robots } = useRobots();

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
            <VectorField label="Centre (m)" field="center" values={values.center} error={errors.center} onChange={(i, v) => setVector("center", i, v)} />
            <VectorField label="Half size (m)" field="halfSize" values={values.halfSize} error={errors.halfSize} onChange={(i, v) => setVector("halfSize", i, v)} />
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
