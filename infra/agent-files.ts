// The deployed agent's data files (a CSV its tool reads, a prompt file, …) in every function's code.
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import type { DeployedAgent } from "./agent.ts";

/*
 * Why copy the files, and why there. esbuild bundles the agent module's code into each handler
 * (`functions/<name>.ts` → `functions/<name>.mjs` in the function's zip), but not the files its
 * code reads at run time: examples/business-insights reads `new URL("./sales.csv",
 * import.meta.url)`. In the bundle `import.meta.url` is the handler bundle's own URL
 * (`file:///var/task/functions/<name>.mjs`), so that URL points into the handler's folder. So
 * the non-code files of the agent module's folder are copied into the handler's folder, keeping
 * their layout relative to the module: the same source then finds them from source (`npm start`)
 * and bundled, for any agent, with no loader of its own. A JSON import (`with { type: "json" }`,
 * examples/k8s-diagnosis's cluster.json) is inlined by esbuild and needs none of this; it is
 * copied too, which costs its size and nothing else. Every function gets the files: every one
 * imports the agent module, which may read its data as it loads.
 * Limit: a URL is resolved against the handler's folder, so a module in a sub-folder of the agent
 * must address the data as the agent module would (`./data/x.csv`, not `../x.csv`).
 */

/** The folder of every handler (`functions/<name>.handler`): where its bundle, `<name>.mjs`, lands. */
export const HANDLER_DIR = "functions";

/** Code and source maps: bundled by esbuild (or of no use at run time), never copied. */
const CODE = /\.(?:[cm]?[jt]sx?|map)$/;

/**
 * The data files of the agent module's folder: every regular file, in sub-folders too, that is
 * not code (`.ts`, `.tsx`, `.mts`, `.cts`, `.js`, `.mjs`, `.cjs`, `.jsx`, `.map`), not hidden
 * (a name starting with `.`) and not under `node_modules`. Paths are relative to the module's
 * folder, `/`-separated, sorted.
 * @param module the agent module's absolute path ({@link DeployedAgent.module}).
 * @param root the project root: a module directly in it is refused, as its folder is the whole
 *   project.
 * @throws Error when the module's folder is the project root (move the agent into a folder of its own).
 */
export function agentDataFiles(module: string, root: string): string[] {
  const folder = path.dirname(module);
  if (path.resolve(folder) === path.resolve(root)) {
    throw new Error(
      `agent ${path.relative(root, module)}: its folder is the project root, whose files would all be ` +
        "copied into every function as the agent's data; put the agent in a folder of its own",
    );
  }
  return filesUnder(folder, "").sort();
}

/** The data files under `folder`/`prefix` (see {@link agentDataFiles}), as `prefix`-relative paths. */
function filesUnder(folder: string, prefix: string): string[] {
  return readdirSync(path.join(folder, prefix), { withFileTypes: true }).flatMap((entry) => {
    const file = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.name.startsWith(".") || entry.name === "node_modules") return [];
    if (entry.isDirectory()) return filesUnder(folder, file);
    return entry.isFile() && !CODE.test(entry.name) ? [file] : [];
  });
}

/** Copies already staged in this deploy program, by stage and module (each function asks). */
const staged = new Map<string, { from: string; to: string }[]>();

/**
 * `copyFiles` entries (sst.aws.Function, paths relative to the project root) that put the
 * deployed agent's data files ({@link agentDataFiles}) into the function's zip under
 * {@link HANDLER_DIR}, where the bundled module's `new URL("./<file>", import.meta.url)` looks.
 * The files are staged first in `.sst/agent-files/<stage>/` and that folder is copied whole:
 * SST 4.17.1 zips a single-file `copyFiles` entry twice (see infra/tool-workers.ts), and only
 * the data goes in, not the agent's sources. None for the built-in agent or an agent without data.
 * @param stage the app's stage (`$app.stage`): stages synthesized at once stage apart.
 * @param root the project root (`$cli.paths.root`).
 * @throws Error from {@link agentDataFiles}, or the file system's when a file cannot be copied
 *   (the deploy stops).
 */
export function agentFileCopies(
  deployed: DeployedAgent,
  stage: string,
  root: string,
): { from: string; to: string }[] {
  if (!deployed.module) return [];
  const key = `${stage}\0${deployed.module}`;
  const known = staged.get(key);
  if (known) return known;
  const files = agentDataFiles(deployed.module, root);
  const outDir = path.join(".sst", "agent-files", stage);
  const out = path.join(root, outDir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const file of files) cpSync(path.join(path.dirname(deployed.module), file), path.join(out, file));
  const copies = files.length > 0 ? [{ from: outDir, to: HANDLER_DIR }] : [];
  staged.set(key, copies);
  return copies;
}
