// Execution statuses: which are final (no further change will come).
const TERMINAL = new Set(["succeeded", "failed", "refused", "cancelled", "interrupted"]);

export const isTerminal = (status: string | undefined | null): boolean => !!status && TERMINAL.has(status);
