// /training: the learning loop: record demonstrations, browse datasets and play their episodes,
// train policies (live progress and loss), package and deploy them as skills. The selection is
// in the URL (?dataset=…&episode=…&run=…): a reload or a shared link opens the same view.
import { useSearchParams } from "react-router";
import { DatasetDetail } from "../training/DatasetDetail";
import { DatasetsPanel } from "../training/DatasetsPanel";
import { LearnedSkillsPanel } from "../training/LearnedSkillsPanel";
import { RecordPanel } from "../training/RecordPanel";
import { RunDetail } from "../training/RunDetail";
import { RunsPanel } from "../training/RunsPanel";
import { StartRunForm } from "../training/StartRunForm";

export default function TrainingPage() {
  const [params, setParams] = useSearchParams();
  const dataset = params.get("dataset");
  const episodeText = params.get("episode");
  const episode = episodeText !== null && /^\d+$/.test(episodeText) ? Number(episodeText) : null;
  const run = params.get("run");
  const update = (changes: Record<string, string | null>) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        for (const [k, v] of Object.entries(changes)) if (v === null) next.delete(k);
        else next.set(k, v);
        return next;
      },
      { replace: true },
    );

  return (
    <div className="page" data-testid="page-training">
      <RecordPanel />
      <StartRunForm dataset={dataset} onStarted={(id) => update({ run: id })} />
      <DatasetsPanel selected={dataset} onSelect={(name) => update({ dataset: name, episode: "0" })} />
      {dataset ? <DatasetDetail name={dataset} episode={episode} onEpisode={(i) => update({ episode: String(i) })} /> : null}
      <RunsPanel selected={run} onSelect={(id) => update({ run: id })} />
      {run ? <RunDetail id={run} /> : null}
      <LearnedSkillsPanel />
    </div>
  );
}
