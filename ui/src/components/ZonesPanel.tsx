// Keep-out zones: table with create / edit / delete.
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/endpoints";
import { useZones } from "../api/queries";
import type { ZoneChangeOut, ZoneOut, ZoneWrite } from "../api/types";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { useUiStore } from "../stores/ui";
import { num, time } from "./fmt";
import { Panel } from "./Panel";
import { QueryState } from "./QueryState";
import { ZoneDialog } from "./ZoneDialog";
import { EMPTY_ZONE_FORM, formFromZone } from "./zoneForm";

type Editing = { mode: "create" } | { mode: "edit"; zone: ZoneOut } | null;

function describeZone(z: ZoneOut): string {
  const zone = z.zone;
  if (zone.kind === "box") return `box at (${zone.center.map((v) => num(v, 3)).join(", ")}), half size (${zone.half_size.map((v) => num(v, 3)).join(", ")})`;
  if (zone.kind === "halfspace") return `half-space n = (${zone.normal.map((v) => num(v, 3)).join(", ")}), offset ${num(zone.offset, 3)}`;
  return JSON.stringify(zone);
}

export function ZonesPanel() {
  const zones = useZones();
  const robotId = useSelectedRobot();
  const qc = useQueryClient();
  const toast = useUiStore((s) => s.pushToast);
  const [editing, setEditing] = useState<Editing>(null);
  const [confirmDelete, setConfirmDelete] = useState<number | null>(null);

  // The API answers with what each robot's kernel did: a zone stored but not in force is an error to show.
  const done = (title: string, description: string, answer: ZoneChangeOut) => {
    const notInForce = answer.robots.filter((r) => r.status === "refused" || r.status === "no_answer");
    if (notInForce.length > 0) {
      const why = notInForce.map((r) => `${r.robot_id}: ${r.status.replace("_", " ")} (${r.detail})`).join("; ");
      toast({ title: `${title}, but not in force on every robot`, description: why, kind: "error" });
    } else {
      toast({ title, description, kind: "success" });
    }
    void qc.invalidateQueries({ queryKey: ["zones"] });
  };

  const save = useMutation({
    meta: { title: "Zone not saved" },
    mutationFn: (body: ZoneWrite) => (editing?.mode === "edit" ? api.updateZone(editing.zone.id, body) : api.createZone(body)),
    onSuccess: (z) => {
      setEditing(null);
      done("Zone saved", `${z.zone.name} (#${z.id})`, z);
    },
  });

  const remove = useMutation({
    meta: { title: "Zone not deleted" },
    mutationFn: (id: number) => api.deleteZone(id),
    onSuccess: (answer, id) => {
      setConfirmDelete(null);
      done("Zone deleted", `#${id}`, answer);
    },
  });

  const initial = editing?.mode === "edit" ? (formFromZone(editing.zone) ?? EMPTY_ZONE_FORM) : { ...EMPTY_ZONE_FORM, robotId: robotId ?? "" };

  return (
    <Panel
      title="Keep-out zones"
      testId="zones-panel"
      className="wide"
      actions={
        <button type="button" className="primary" data-testid="zone-create" onClick={() => setEditing({ mode: "create" })}>
          New zone
        </button>
      }
    >
      <QueryState query={zones} isEmpty={(z) => z.length === 0} empty="No keep-out zones.">
        {(rows) => (
          <table className="table" data-testid="zones-table">
            <thead>
              <tr>
                <th>#</th>
                <th>Name</th>
                <th>Robot</th>
                <th>Shape</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((z) => (
                <tr key={z.id} data-testid={`zone-row-${z.zone.name}`}>
                  <td>{z.id}</td>
                  <td>{z.zone.name}</td>
                  <td>{z.robot_id ?? "every robot"}</td>
                  <td>{describeZone(z)}</td>
                  <td>{time(z.created_at)}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      disabled={z.zone.kind !== "box"}
                      title={z.zone.kind !== "box" ? "only box zones can be edited here" : undefined}
                      data-testid="zone-edit"
                      onClick={() => setEditing({ mode: "edit", zone: z })}
                    >
                      Edit
                    </button>
                    {confirmDelete === z.id ? (
                      <button type="button" className="danger" data-testid="zone-delete-confirm" disabled={remove.isPending} onClick={() => remove.mutate(z.id)}>
                        Really delete?
                      </button>
                    ) : (
                      <button type="button" data-testid="zone-delete" onClick={() => setConfirmDelete(z.id)}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
      {editing ? (
        <ZoneDialog
          key={editing.mode === "edit" ? editing.zone.id : "new"}
          open
          editingId={editing.mode === "edit" ? editing.zone.id : null}
          title={editing.mode === "edit" ? `Edit zone ${editing.zone.zone.name}` : "New keep-out zone"}
          initial={initial}
          saving={save.isPending}
          onSave={(body) => save.mutate(body)}
          onOpenChange={(open) => !open && setEditing(null)}
        />
      ) : null}
    </Panel>
  );
}
