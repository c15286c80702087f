/**
 * The files tool workers run, as data only (no imports): infra/tool-workers.ts reads this at
 * deploy time to bundle them, and worker-module.ts at run time to find the bundles.
 */

/** Folder, next to a deployed handler bundle, that holds the bundled worker modules (`<name>.mjs`). */
export const WORKER_BUNDLE_DIR = "tool-workers";

/**
 * Every module a tool worker may import, relative to the project root: the worker entry and
 * each isolated tool's implementation. infra/tool-workers.ts bundles exactly these; a module
 * missing here works from source but not on AWS (test/packages/agent/tools/worker-pool.test.ts
 * checks the built-in tools against it). File names must be unique: the bundles sit in one folder.
 */
export const WORKER_SOURCES: readonly string[] = [
  "packages/agent/tools/worker-host.ts",
  "packages/agent/tools/calculator-eval.ts",
];

/** The bundled file name of a worker module: `…/calculator-eval.ts` → `calculator-eval.mjs`. */
export function bundledWorkerName(source: string): string {
  const file = source.slice(source.lastIndexOf("/") + 1);
  return `${file.replace(/\.[cm]?[jt]s$/, "")}.mjs`;
}
