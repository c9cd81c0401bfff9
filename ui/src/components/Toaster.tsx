// Radix toasts fed by the ui store.
import * as Toast from "@radix-ui/react-toast";
import { useUiStore } from "../stores/ui";

export function Toaster() {
  const toasts = useUiStore((s) => s.toasts);
  const dismiss = useUiStore((s) => s.dismissToast);
  return (
    <Toast.Provider swipeDirection="right" duration={6000}>
      {toasts.map((t) => (
        <Toast.Root
          key={t.id}
          className={`toast toast-${t.kind}`}
          data-testid="toast"
          duration={t.kind === "error" ? 10_000 : 6_000}
          onOpenChange={(open) => {
            if (!open) dismiss(t.id);
          }}
        >
          <Toast.Title className="toast-title">{t.title}</Toast.Title>
          {t.description ? <Toast.Description className="toast-desc">{t.description}</Toast.Description> : null}
          <Toast.Close className="toast-close" aria-label="Close">
            ×
          </Toast.Close>
        </Toast.Root>
      ))}
      <Toast.Viewport className="toast-viewport" />
    </Toast.Provider>
  );
}
