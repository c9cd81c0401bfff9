// /training: start a training run on the server's machine (learning environment, idle priority).
import { useState } from "react";
import { useDatasets, useStartRun } from "../api/learning";
import type { InputGroup, PolicyType, TrainDevice } from "../api/learningTypes";
import { errorMessage } from "../api/errors";
import { Panel } from "../components/Panel";
import { EMPTY_TRAIN_FORM, INPUT_GROUPS, validateTrainForm, type TrainFormErrors, type TrainFormValues } from "./trainForm";

function FieldError({ errors, name }: { errors: TrainFormErrors; name: keyof TrainFormValues }) {
  return errors[name] ? <span className="field-error">{errors[name]}</span> : null;
}

export function StartRunForm({ dataset, onStarted }: { dataset: string | null; onStarted: (id: string) => void }) {
  const datasets = useDatasets();
  const start = useStartRun();
  const [values, setValues] = useState<TrainFormValues>(EMPTY_TRAIN_FORM);
  const [errors, setErrors] = useState<TrainFormErrors>({});
  const chosen = values.dataset || dataset || "";
  const summary = datasets.data?.find((d) => d.name === chosen);
  const set = <K extends keyof TrainFormValues>(key: K, value: TrainFormValues[K]) => setValues((v) => ({ ...v, [key]: value }));

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const { errors: found, body } = validateTrainForm({ ...values, dataset: chosen }, summary);
    setErrors(found);
    if (body) start.mutate(body, { onSuccess: (run) => onStarted(run.id) });
  };

  const number = (key: "steps" | "batchSize" | "chunkSize" | "dimModel" | "layers" | "lr", label: string, placeholder = "") => (
    <label>
      {label}
      <input
        data-testid={`train-${key}`}
        value={values[key]}
        placeholder={placeholder}
        inputMode="decimal"
        aria-invalid={errors[key] ? true : undefined}
        onChange={(e) => set(key, e.target.value)}
      />
      <FieldError errors={errors} name={key} />
    </label>
  );

  return (
    <Panel title="Start a training run" testId="start-run">
      <form onSubmit={submit} noValidate>
        <div className="form-grid">
          <label>
            dataset
            <select data-testid="train-dataset" value={chosen} onChange={(e) => set("dataset", e.target.value)}>
              <option value="">—</option>
              {(datasets.data ?? []).map((d) => (
                <option key={d.name} value={d.name}>
                  {d.name} ({d.episodes} ep.)
                </option>
              ))}
            </select>
            <FieldError errors={errors} name="dataset" />
          </label>
          <label>
            policy
            <select data-testid="train-policy" value={values.policy} onChange={(e) => set("policy", e.target.value as PolicyType)}>
              <option value="act">ACT (action chunking transformer)</option>
              <option value="diffusion">Diffusion (slow on a CPU)</option>
            </select>
          </label>
          {number("steps", "steps")}
          {number("batchSize", "batch size")}
          <label>
            device
            <select value={values.device} onChange={(e) => set("device", e.target.value as TrainDevice)}>
              <option value="cpu">cpu</option>
              <option value="cuda">cuda</option>
            </select>
          </label>
        </div>
        <details>
          <summary>Model settings (empty: the policy&apos;s preset)</summary>
          <div className="form-grid">
            {number("chunkSize", "chunk (frames)", "100")}
            {number("dimModel", "width", "512")}
            {number("layers", "encoder layers", "4")}
            {number("lr", "learning rate", "1e-5")}
          </div>
          <div className="checks">
            inputs:
            {INPUT_GROUPS.map((g) => (
              <label key={g.value}>
                <input
                  type="checkbox"
                  checked={values.inputs.includes(g.value)}
                  onChange={(e) =>
                    set(
                      "inputs",
                      e.target.checked ? [...values.inputs, g.value] : values.inputs.filter((x: InputGroup) => x !== g.value),
                    )
                  }
                />{" "}
                {g.label}
              </label>
            ))}
            <span className="muted">(none ticked: all the dataset has)</span>
          </div>
          <FieldError errors={errors} name="inputs" />
        </details>
        <p>
          <button type="submit" className="primary" data-testid="train-start" disabled={start.isPending}>
            {start.isPending ? "Starting…" : "Start training"}
          </button>{" "}
          <span className="muted">Trains at idle priority beside the robot; progress and loss appear under Training runs.</span>
        </p>
        {start.isError ? (
          <p className="error-text" data-testid="train-error">
            {errorMessage(start.error)}
          </p>
        ) : null}
      </form>
    </Panel>
  );
}
