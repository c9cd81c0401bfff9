// /training: learned skills (kind policy) in the registry: upload a packaged artifact, deploy a
// version to the selected robot (or every connected one), with each robot's answer.
import { useRef, useState } from "react";
import { policySkills, useDeploy, useUploadSkill } from "../api/learning";
import type { DeploymentOut } from "../api/learningTypes";
import { useSkills } from "../api/queries";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { Panel } from "../components/Panel";
import { QueryState } from "../components/QueryState";

export function LearnedSkillsPanel() {
  const skills = useSkills();
  const robotId = useSelectedRobot();
  const upload = useUploadSkill();
  const deploy = useDeploy();
  const file = useRef<HTMLInputElement>(null);
  const [results, setResults] = useState<DeploymentOut[]>([]);
  const [versions, setVersions] = useState<Record<string, string>>({});

  return (
    <Panel title="Learned skills" testId="learned-skills">
      <p className="muted">
        Upload a packaged policy (<code>.dskill</code>, signed): the server verifies it before it is listed.{" "}
        <input
          ref={file}
          type="file"
          accept=".dskill,application/octet-stream"
          data-testid="skill-upload"
          disabled={upload.isPending}
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) upload.mutate(f, { onSettled: () => file.current && (file.current.value = "") });
          }}
        />
      </p>
      {upload.data ? (
        <p data-testid="skill-uploaded">
          {upload.data.ref} {upload.data.created ? "registered" : "was already registered"}
        </p>
      ) : null}
      <QueryState query={skills} isEmpty={(s) => policySkills(s).length === 0} empty="No learned skills in the registry yet.">
        {(all) => (
          <table className="table" data-testid="learned-skills-table">
            <thead>
              <tr>
                <th>Skill</th>
                <th>Version</th>
                <th>Description</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {policySkills(all).map((s) => {
                const version = versions[s.id] ?? s.latest_version ?? s.versions[0] ?? "";
                return (
                  <tr key={s.id}>
                    <td>{s.id}</td>
                    <td>
                      <select value={version} onChange={(e) => setVersions({ ...versions, [s.id]: e.target.value })}>
                        {s.versions.map((v) => (
                          <option key={v}>{v}</option>
                        ))}
                      </select>
                    </td>
                    <td className="cause">{s.description}</td>
                    <td>
                      <button
                        type="button"
                        disabled={!robotId || deploy.isPending}
                        title={robotId ? `send it to ${robotId}'s skill cache` : "no robot selected"}
                        onClick={() =>
                          robotId &&
                          deploy.mutate({ skillId: s.id, version: version || null, robotIds: [robotId] }, { onSuccess: setResults })
                        }
                      >
                        Deploy to {robotId ?? "—"}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </QueryState>
      {results.length > 0 ? (
        <ul data-testid="deploy-results">
          {results.map((r) => (
            <li key={r.id} className={r.status === "delivered" ? undefined : "error-text"}>
              {r.skill_id}@{r.version} → {r.robot_id}: {r.status}
              {r.error ? ` (${r.error})` : ""}
            </li>
          ))}
        </ul>
      ) : null}
    </Panel>
  );
}
