import { Panel } from "../components/Panel";

export default function TrainingPage() {
  return (
    <div className="page" data-testid="page-training">
      <Panel title="Training">
        <p>
          Training is coming in a later release: recording demonstrations, training skills from them and federated
          learning across robots are not part of this version of Dynamical Edge.
        </p>
        <p className="muted">Nothing on this page is live yet, so it shows no data.</p>
      </Panel>
    </div>
  );
}
