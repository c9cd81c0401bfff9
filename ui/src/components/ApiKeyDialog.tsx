// Asks for the API key on first visit and whenever the server answers 401.
import * as Dialog from "@radix-ui/react-dialog";
import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useSystemStore } from "../stores/system";

export function ApiKeyDialog() {
  const open = useSystemStore((s) => s.keyRequested);
  const reason = useSystemStore((s) => s.lastCloseReason);
  const hadKey = useSystemStore((s) => s.apiKey !== null);
  const setApiKey = useSystemStore((s) => s.setApiKey);
  const qc = useQueryClient();
  const [value, setValue] = useState("");

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!value.trim()) return;
    setApiKey(value);
    setValue("");
    void qc.resetQueries();
  };

  return (
    <Dialog.Root open={open}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog" data-testid="api-key-dialog" onEscapeKeyDown={(e) => e.preventDefault()}>
          <Dialog.Title>API key</Dialog.Title>
          <Dialog.Description>
            {hadKey
              ? `The server did not accept the stored key${reason ? ` (${reason})` : ""}. Enter a valid key.`
              : "Enter your Dynamical Edge API key. It is kept in this browser only."}
          </Dialog.Description>
          <p className="hint" data-testid="api-key-help">
            Where keys come from: the first start of <code>dynamical up</code> prints an admin key; an admin makes
            more with <code>dynamical keys create --scope operate --name you</code> (scopes: read, operate, admin —
            e-stop and reset need operate). A key is shown only once.
          </p>
          <form onSubmit={submit} className="form">
            <label>
              Key
              <input
                autoFocus
                type="password"
                autoComplete="off"
                name="api-key"
                data-testid="api-key-input"
                value={value}
                onChange={(e) => setValue(e.target.value)}
                placeholder="dyn_…"
              />
            </label>
            <div className="form-actions">
              <button type="submit" className="primary" disabled={!value.trim()} data-testid="api-key-save">
                Save
              </button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
