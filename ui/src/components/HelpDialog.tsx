// Lists the keyboard shortcuts.
import * as Dialog from "@radix-ui/react-dialog";
import { SHORTCUTS } from "../hooks/shortcuts";
import { useUiStore } from "../stores/ui";

export function HelpDialog() {
  const open = useUiStore((s) => s.helpOpen);
  const setOpen = useUiStore((s) => s.setHelpOpen);
  return (
    <Dialog.Root open={open} onOpenChange={setOpen}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog" data-testid="help-dialog">
          <Dialog.Title>Keyboard shortcuts</Dialog.Title>
          <Dialog.Description>Active on every page. While typing in a field only Ctrl+E works.</Dialog.Description>
          <table className="table">
            <tbody>
              {SHORTCUTS.map((s) => (
                <tr key={s.action}>
                  <td>
                    <kbd>{s.keys}</kbd>
                  </td>
                  <td>
                    {s.label}
                    {s.coming ? <span className="tag">coming</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted">
            Some browsers keep Ctrl+T for themselves (new tab); the dashboard cannot override that.
          </p>
          <div className="form-actions">
            <Dialog.Close className="button">Close</Dialog.Close>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
