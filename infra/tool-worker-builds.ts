// What infra/tool-workers.ts bundles for tool workers, as plain esbuild options (no SST globals,
// so test/infra/tool-workers.test.ts builds with exactly these).
import path from "node:path";
import type { BuildOptions } from "esbuild";
import { bundledWorkerName, WORKER_SOURCES } from "../packages/agent/tools/worker-sources.ts";

/** Bundled CommonJS (mathjs's single-file build) may `require` built-ins; ESM has no `require` of its own (the banner SST puts on handler bundles). */
const REQUIRE_BANNER = `import { createRequire as topLevelCreateRequire } from "module"; const require = topLevelCreateRequire(import.meta.url);`;

/** The identifier the agent module's worker bundle reads instead of `import.meta.url` (see {@link toolWorkerBuilds}). */
const MODULE_URL = "__stagecastAgentModuleUrl";

/** Options every worker bundle shares: one self-contained, minified ESM file per entry. */
function shared(outDir: string): BuildOptions {
  return {
    outdir: outDir,
    entryNames: "[name]",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  };
}

/**
 * The esbuild builds of the tool workers' code, into `outDir` (`<name>.mjs` each):
 * 1. every module of WORKER_SOURCES (the worker entry, each built-in isolated tool);
 * 2. with an agent module, that module too (its worker tools run from it: a worker imports it
 *    and takes the agent's tools from its default export, packages/agent/tools/agent-tool.ts),
 *    with "stagecast" and everything it imports. In that bundle `import.meta.url` reads as a
 *    file of the handler's folder, one level up (`functions/<name>.mjs`), as in the handler
 *    bundle, so the module's `new URL("./data.csv", import.meta.url)` finds the data files
 *    infra/agent-files.ts copies there, from the worker as from the handler.
 * @param root the project root (WORKER_SOURCES are relative to it).
 * @param outDir the output folder (absolute).
 * @param agentModule the deployed agent module's absolute path; undefined for the built-in agent.
 * @throws Error when the agent module's bundle would have the name of a worker module's
 *   (`worker-host.mjs`, `calculator-eval.mjs`): the bundles share one folder.
 */
export function toolWorkerBuilds(root: string, outDir: string, agentModule?: string): BuildOptions[] {
  const builds: BuildOptions[] = [
    {
      ...shared(outDir),
      entryPoints: WORKER_SOURCES.map((source) => path.join(root, source)),
      banner: { js: REQUIRE_BANNER },
    },
  ];
  if (!agentModule) return builds;
  const name = bundledWorkerName(agentModule);
  if (WORKER_SOURCES.some((source) => bundledWorkerName(source) === name)) {
    throw new Error(
      `agent ${path.relative(root, agentModule)}: its tool-worker bundle would be ${name}, the name of a built-in worker module; rename the agent module`,
    );
  }
  builds.push({
    ...shared(outDir),
    entryPoints: [agentModule],
    define: { "import.meta.url": MODULE_URL },
    banner: { js: `${REQUIRE_BANNER} const ${MODULE_URL} = new URL("../${name}", import.meta.url).href;` },
  });
  return builds;
}
