import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bundledWorkerName, WORKER_BUNDLE_DIR } from "./worker-sources.ts";

/**
 * Where the code a tool worker runs lives, from source and when deployed.
 *
 * From source (`npm start` under tsx, vitest), a worker imports the `.ts` module itself: it
 * inherits the parent's `execArgv`, so tsx's loader (or Node 24's own type stripping) loads it.
 * In a Lambda bundle there are no sources: esbuild inlines the handler's imports into one file
 * and leaves `new URL("./x.ts", import.meta.url)` alone, so it points next to the bundle. infra
 * therefore bundles every module of WORKER_SOURCES (worker-sources.ts) on its own, mathjs and
 * all, into WORKER_BUNDLE_DIR beside the handler, and {@link resolveWorkerModule} falls back to it.
 */

const resolved = new Map<string, URL>();

/**
 * The file a worker should import for `source` (a module's own URL, as the declaring code
 * writes it: `new URL("./calculator-eval.ts", import.meta.url)`): the source itself when it
 * exists, else its bundle in WORKER_BUNDLE_DIR beside it (see the module comment).
 * Cached per URL: one `stat` per module per process. Never throws: a module found in neither
 * place is returned unchanged, and the worker's import then fails with ERR_MODULE_NOT_FOUND
 * naming it.
 */
export function resolveWorkerModule(source: URL): URL {
  const cached = resolved.get(source.href);
  if (cached) return cached;
  let url = source;
  if (source.protocol === "file:" && !existsSync(fileURLToPath(source))) {
    const bundled = new URL(`./${WORKER_BUNDLE_DIR}/${bundledWorkerName(source.pathname)}`, source);
    if (existsSync(fileURLToPath(bundled))) url = bundled;
  }
  resolved.set(source.href, url);
  return url;
}
