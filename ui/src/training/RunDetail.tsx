// One training run: where it stands, its loss curve (live while it trains), its settings, its
// checkpoints, and how it becomes a skill.
import { useState } from "react";
import { isActiveRun, useTrainingRun } from "../api/learning";
import type { TrainingRunDetail } from "../api/learningTypes";
import { duration, text, time } from "../components/fmt";
import { Panel } from "../components/Panel";
import { QueryState } from "../components/QueryState";
import { LineChart } from "./LineChart";
import { RunProgress } from "./RunsPanel";
import { packageCommands, SEMVER, SKILL_ID } from "./runView";

function Settings({ run }: { run: TrainingRunDetail }) {
  const c = run.config;
  const preset = (v: number | null) => (v === null ? "preset" : String(v));
  return (
    <dl className="kv" data-testid="run-config">
      <dt>policy</dt>
      <dd>
        {c.policy} on {c.device}
        {run.parameters ? `, ${(run.parameters / 1e6).toFixed(2)} M parameters` : ""}
      </dd>
      <dt>steps × batch</dt>
      <dd>
        {c.steps} × {c.batch_size}
      </dd>
      <dt>chunk · width · layers</dt>
      <dd>
        {preset(c.chunk_size)} · {preset(c.dim_model)} · {preset(c.layers)}
      </dd>
      <dt>learning rate</dt>
      <dd>{c.lr ?? "preset"}</dd>
      <dt>inputs</dt>
      <dd>{c.inputs?.join(", ") ?? "all the dataset has"}</dd>
      <dt>dataset</dt>
      <dd>{run.dataset}</dd>
      <dt>priority</dt>
      <dd>
        {text(run.priority)} on {run.host}
        {run.attempts > 1 ? ` (attempt ${run.attempts})` : ""}
      </dd>
    </dl>
  );
}

function Artifacts({ run }: { run: TrainingRunDetail }) {
  const base = run.out_dir.replace(/\/+$/, "");
  return (
    <dl className="kv" data-testid="run-artifacts">
      <dt>run directory</dt>
      <dd>
        <code>{base}</code>
      </dd>
      <dt>checkpoint</dt>
      <dd>
        {run.checkpoint_step === null ? (
          "none yet"
        ) : (
          <>
            step {run.checkpoint_step}: <code>{base}/checkpoints/last/pretrained_model</code>
          </>
        )}
      </dd>
      <dt>metrics</dt>
      <dd>
        <code>{base}/metrics.jsonl</code>
      </dd>
    </dl>
  );
}

function Package({ run }: { run: TrainingRunDetail }) {
  const [id, setId] = useState("learned_pick");
  const [version, setVersion] = useState("1.0.0");
  const idOk = SKILL_ID.test(id);
  const versionOk = SEMVER.test(version);
  if (run.checkpoint_step === null) return <p className="muted">No checkpoint yet: a run can be packaged once it saved one.</p>;
  return (
    <div data-testid="run-package">
      <div className="form-grid">
        <label>
          skill id
          <input value={id} onChange={(e) => setId(e.target.value)} aria-invalid={idOk ? undefined : true} data-testid="package-id" />
          {idOk ? null : <span className="field-error">lowercase letters, digits and _, starting with a letter</span>}
        </label>
        <label>
          version
          <input value={version} onChange={(e) => setVersion(e.target.value)} aria-invalid={versionOk ? undefined : true} />
          {versionOk ? null : <span className="field-error">semantic version, e.g. 1.0.0</span>}
        </label>
      </div>
      <p className="muted">
        Packaging exports the policy to ONNX (checked against PyTorch) in the learning environment of the machine that holds the run; run
        there, then upload the artifact (or pick it under Learned skills) and deploy it:
      </p>
      {idOk && versionOk ? (
        <pre className="command" data-testid="package-command">
          {packageCommands(run, id, version).join("\n")}
        </pre>
      ) : null}
    </div>
  );
}

export function RunDetail({ id }: { id: string }) {
  const run = useTrainingRun(id);
  return (
    <Panel title={`Run ${id}`} testId="run-detail">
      <QueryState query={run} notFound={`No training run ${id}.`}>
        {(r) => (
          <>
            <p>
              <span className={`status status-${r.status}`} data-testid="run-status">
                {r.status}
              </span>{" "}
              <RunProgress run={r} /> <span className="muted">· {duration(r.seconds)} of training</span>
              {isActiveRun(r.status) ? <span className="muted"> · live</span> : null}
            </p>
            {r.error ? (
              <p className="error-text" data-testid="run-error">
                {r.error}
              </p>
            ) : null}
            <LineChart
              testId="loss-curve"
              label="training loss"
              xUnit="steps"
              log
              width={420}
              height={140}
              lines={[{ name: "loss", x: r.loss_curve.map((p) => p.step), y: r.loss_curve.map((p) => p.loss) }]}
            />
            <Settings run={r} />
            <h3>Artifacts</h3>
            <Artifacts run={r} />
            <p className="muted">
              created {time(r.created_at)}
              {r.finished_at ? ` · finished ${time(r.finished_at)}` : ""}
            </p>
            <h3>Package</h3>
            <Package run={r} />
          </>
        )}
      </QueryState>
    </Panel>
  );
}
