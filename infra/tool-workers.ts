import { rmSync } from "node:fs";
import path from "node:path";
import { buildSync } from "esbuild";
import { WORKER_BUNDLE_DIR } from "../packages/agent/tools/worker-sources.ts";
import { toolWorkerBuilds } from "./tool-worker-builds.ts";

/**
 * Tool workers on AWS. CPU-bound tools (the calculator, an agent's worker tools) run in worker
 * threads, and a worker loads its code from a file of its own, which SST's single-entry esbuild
 * bundle of the handler does not produce. So every module of WORKER_SOURCES (the worker entry
 * and each isolated tool's implementation, mathjs included) and the deployed agent module (a
 * worker imports it to run the agent's worker tools) are bundled here, at deploy time, into
 * self-contained ESM files (infra/tool-worker-builds.ts), and those files are copied into the
 * function's code zip next to the handler (`<handler dir>/tool-workers/<name>.mjs`), where
 * resolveWorkerModule finds them. The folder is copied as a whole: SST 4.17.1 zips a
 * single-file `copyFiles` entry twice (seen in the synthesized code.zip), a folder's files once.
 * @param handler the function's handler, e.g. `functions/stage.handler`.
 * @param agentModule the deployed agent module's absolute path (infra/agent.ts's
 *   `DeployedAgent.module`); undefined for the built-in agent.
 * @returns `copyFiles` entries for sst.aws.Function (paths relative to the project root).
 * @throws Error from esbuild when a worker module or the agent module does not build, or when
 *   the agent module's bundle name is taken (the deploy stops).
 */
export function toolWorkerFiles(handler: string, agentModule?: string): { from: string; to: string }[] {
  // Per stage: `check:infra` synthesizes several stages at once. Emptied first: only the current
  // worker bundles may be copied.
  const outDir = path.join(".sst", "tool-workers", $app.stage);
  rmSync(path.join($cli.paths.root, outDir), { recursive: true, force: true });
  for (const options of toolWorkerBuilds($cli.paths.root, path.join($cli.paths.root, outDir), agentModule)) {
    buildSync(options);
  }
  return [{ from: outDir, to: path.posix.join(path.posix.dirname(handler), WORKER_BUNDLE_DIR) }];
}
