// The operator's API key: entered once, kept in localStorage, never hard-coded.
export const API_KEY_STORAGE = "dynamical.apiKey";

export function loadApiKey(): string | null {
  try {
    const key = window.localStorage.getItem(API_KEY_STORAGE);
    return key && key.trim() ? key.trim() : null;
  } catch {
    return null;
  }
}

export function saveApiKey(key: string): void {
  window.localStorage.setItem(API_KEY_STORAGE, key.trim());
}
