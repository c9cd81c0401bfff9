import { useState } from "react";
import { useSkill, useSkills, useSkillVersion } from "../api/queries";
import { time } from "../components/fmt";
import { EmptyState, Panel } from "../components/Panel";
import { QueryState } from "../components/QueryState";
import { RouteTask } from "../components/RouteTask";

function SkillDetailPanel({ skillId }: { skillId: string }) {
  const skill = useSkill(skillId);
  const [picked, setPicked] = useState<string | null>(null);
  const version = picked ?? skill.data?.latest_version ?? null;
  const detail = useSkillVersion(skillId, version);
  return (
    <Panel title={`Skill ${skillId}`} testId="skill-detail">
      <QueryState query={skill}>
        {(s) => (
          <>
            <h3>Versions</h3>
            <table className="table">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Registered</th>
                  <th>Built in</th>
                  <th>Signed by</th>
                  <th>Size</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {s.versions.map((v) => (
                  <tr key={v.version} className={v.version === version ? "selected" : undefined} onClick={() => setPicked(v.version)}>
                    <td>
                      <button type="button" className="link" onClick={() => setPicked(v.version)}>
                        {v.version}
                      </button>
                    </td>
                    <td>{time(v.registered_at)}</td>
                    <td>{v.builtin ? "yes" : "no"}</td>
                    <td>{v.signing_key_id}</td>
                    <td>{v.size_bytes} B</td>
                    <td>{v.deprecated ? `deprecated${v.deprecated_reason ? `: ${v.deprecated_reason}` : ""}` : "active"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h3>Manifest {version ? `(v${version})` : ""}</h3>
            <QueryState query={detail}>{(d) => <pre className="json" data-testid="skill-manifest">{JSON.stringify(d.manifest, null, 2)}</pre>}</QueryState>
          </>
        )}
      </QueryState>
    </Panel>
  );
}

export default function SkillsPage() {
  const skills = useSkills();
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <div className="page skills" data-testid="page-skills">
      <Panel title="Skills">
        <QueryState query={skills} isEmpty={(s) => s.length === 0} empty="No skills registered.">
          {(rows) => (
            <table className="table" data-testid="skills-table">
              <thead>
                <tr>
                  <th>Skill</th>
                  <th>Latest</th>
                  <th>Kind</th>
                  <th>Description</th>
                  <th>Tags</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((s) => (
                  <tr key={s.id} className={s.id === selected ? "selected" : undefined}>
                    <td>
                      <button type="button" className="link" onClick={() => setSelected(s.id)}>
                        {s.name}
                      </button>
                      <div className="muted">{s.id}</div>
                    </td>
                    <td>{s.latest_version ?? "—"}</td>
                    <td>{s.kind}</td>
                    <td>{s.description}</td>
                    <td>{s.tags.join(", ")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </QueryState>
      </Panel>
      {selected ? <SkillDetailPanel key={selected} skillId={selected} /> : <Panel title="Skill"><EmptyState>Pick a skill to see its versions and manifest.</EmptyState></Panel>}
      <RouteTask />
    </div>
  );
}
