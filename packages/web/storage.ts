/** Keys the page keeps in the browser, all under one prefix. */
const LAST_RUN = "stagecast.lastRun";
const TOKEN = "stagecast.token";

/** Storage that may be missing or refuse writes (private mode, disabled storage): the page works without it. */
function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** The run the page showed last (localStorage: survives reloads and restarts of the browser). */
export const lastRun = {
  get: (): string | undefined => safe(() => localStorage.getItem(LAST_RUN) ?? undefined, undefined),
  set: (runId: string) => safe(() => localStorage.setItem(LAST_RUN, runId), undefined),
  clear: () => safe(() => localStorage.removeItem(LAST_RUN), undefined),
};

/** A token the user typed (sessionStorage: this tab only, gone when it closes; never localStorage). */
export const savedToken = {
  get: (): string | undefined => safe(() => sessionStorage.getItem(TOKEN) ?? undefined, undefined),
  set: (token: string) =>
    safe(() => (token ? sessionStorage.setItem(TOKEN, token) : sessionStorage.removeItem(TOKEN)), undefined),
};
