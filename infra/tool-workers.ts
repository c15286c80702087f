import { rmSync } from "node:fs";
import path from "node:path";
import { buildSync } from "esbuild";
import { WORKER_BUNDLE_DIR, WORKER_SOURCES } from "../packages/agent/tools/worker-sources.ts";

/**
 * Tool workers on AWS. CPU-bound tools (the calculator) run in worker threads, and a worker
 * loads its code from a file of its own, which SST's single-entry esbuild bundle of the handler
 * does not produce. So every module of WORKER_SOURCES (the worker entry and each isolated
 * tool's implementation, mathjs included) is bundled here, at deploy time, into a
 * self-contained ESM file, and those files are copied into the function's code zip next to the
 * handler (`<handler dir>/tool-workers/<name>.mjs`), where resolveWorkerModule finds them.
 * The folder is copied as a whole: SST 4.17.1 zips a single-file `copyFiles` entry twice
 * (seen in the synthesized code.zip), a folder's files once.
 * @param handler the function's handler, e.g. `functions/stage.handler`.
 * @returns `copyFiles` entries for sst.aws.Function (paths relative to the project root).
 * @throws Error from esbuild when a worker module does not build (the deploy stops).
 */
export function toolWorkerFiles(handler: string): { from: string; to: string }[] {
  // Per stage: `check:infra` synthesizes two stages at once. Emptied first: only the current
  // worker bundles may be copied.
  const outDir = path.join(".sst", "tool-workers", $app.stage);
  rmSync(path.join($cli.paths.root, outDir), { recursive: true, force: true });
  buildSync({
    entryPoints: WORKER_SOURCES.map((source) => path.join($cli.paths.root, source)),
    outdir: path.join($cli.paths.root, outDir),
    entryNames: "[name]",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
    // Bundled CommonJS (mathjs's single-file build) may `require` built-ins; ESM has no
    // `require` of its own (the same banner SST puts on handler bundles).
    banner: {
      js: `import { createRequire as topLevelCreateRequire } from "module"; const require = topLevelCreateRequire(import.meta.url);`,
    },
  });
  return [{ from: outDir, to: path.posix.join(path.posix.dirname(handler), WORKER_BUNDLE_DIR) }];
}
