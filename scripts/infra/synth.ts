import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { SECRET_LINKS } from "../../packages/config/index.ts";
import type { BuildResult } from "./build-handler.ts";
import { createMocks, type SynthResource } from "./pulumi-mocks.ts";
import { startSstRpc } from "./sst-rpc.ts";

/** Everything the synth produced, written as JSON for the infra tests. */
export interface Synthesis {
  stage: string;
  app: Record<string, unknown>;
  resources: SynthResource[];
  /** Runtime.Build answers by function id: bundle folder, handler, bytes. */
  builds: Record<string, BuildResult>;
  /** Fake secret values the synth set (SST_SECRET_<Name>), so tests can sign tokens with them. */
  secrets: Record<string, string>;
}

/** The part of @pulumi/pulumi the synth uses (the module lives in .sst/platform, outside the project's types). */
interface PulumiModule {
  runtime: {
    setMocks(mocks: ReturnType<typeof createMocks>, project: string, stack: string, preview: boolean): void;
    runInPulumiStack(init: () => Promise<unknown>): Promise<unknown>;
    disconnect(): Promise<void>;
  };
}

/** The project root (this file lives in scripts/infra/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Where `sst install` puts the platform (components, Pulumi packages). */
export const PLATFORM = path.join(ROOT, ".sst/platform");
/** Synth outputs: program bundle, function bundles, synthesis JSON. */
export const SYNTH_DIR = path.join(ROOT, ".sst/synth");

/** Packages SST keeps out of the program bundle and loads from .sst/platform/node_modules (sst pkg/js). */
const PROGRAM_EXTERNALS = ["@pulumi/*", "@aws-sdk/*", "esbuild", "archiver", "glob", "undici"];

/**
 * Evaluate sst.config.ts as `sst deploy --stage <stage>` would, under Pulumi mocks, and return
 * every resource it registers. Follows the CLI (docs/platform-notes.md, "SST offline checks"): `app()` first,
 * then one esbuild bundle of the platform's run() and the config with `$app`, `$cli`, `$dev`
 * defined, the platform shim injected and `aws`/`sst` imported into each infra source; every
 * `sst.aws.Function` is built through the fake RPC server, which really bundles the handler.
 * @throws Error when the platform is not installed, the program throws, an output rejects, or a
 *   handler fails to build.
 */
export async function synthesize(stage: string): Promise<Synthesis> {
  if (!existsSync(path.join(PLATFORM, "node_modules/@pulumi/pulumi"))) {
    throw new Error("the SST platform is not installed: run `npm run check:infra` (it runs `sst install`)");
  }
  const work = path.join(SYNTH_DIR, stage);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });

  (globalThis as Record<string, unknown>).$config = (config: unknown) => config;
  const config = (await import(pathToFileURL(path.join(ROOT, "sst.config.ts")).href)) as {
    default: { app(input: { stage: string }): Record<string, unknown> | Promise<Record<string, unknown>> };
  };
  const app: Record<string, unknown> = {
    removal: "retain",
    providers: {},
    ...(await config.default.app({ stage })),
    stage,
  };

  const programFile = path.join(PLATFORM, ".synth", `${stage}.mjs`);
  await build({
    stdin: {
      contents: [
        `import * as pulumi from "@pulumi/pulumi";`,
        `import { run } from ${JSON.stringify(path.join(PLATFORM, "src/auto/run.ts"))};`,
        `import mod from ${JSON.stringify(path.join(ROOT, "sst.config.ts"))};`,
        `export { pulumi, run, mod };`,
      ].join("\n"),
      resolveDir: ROOT,
      loader: "ts",
    },
    outfile: programFile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "esnext",
    logLevel: "silent",
    external: PROGRAM_EXTERNALS,
    nodePaths: [path.join(PLATFORM, "node_modules")],
    inject: [path.join(PLATFORM, "src/shim/run.js")],
    banner: {
      js: `import { createRequire as topLevelCreateRequire } from "module"; const require = topLevelCreateRequire(import.meta.url);`,
    },
    define: {
      $app: JSON.stringify(app),
      $cli: JSON.stringify({
        command: "deploy",
        dev: false,
        paths: { home: work, root: ROOT, work, platform: PLATFORM },
        state: { version: {} },
      }),
      $dev: "false",
    },
    plugins: [componentImports()],
  });

  const secrets = Object.fromEntries(
    Object.keys(SECRET_LINKS).map((name) => [name, `offline-${name}-${"x".repeat(40)}`]),
  );
  for (const [name, value] of Object.entries(secrets)) process.env[`SST_SECRET_${name}`] = value;
  // A failure inside Pulumi (a throwing apply, a failed build) leaves outputs that never
  // resolve, so the run would hang: the first failure ends the synth instead.
  const failures: string[] = [];
  let fail: (reason: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const record = (err: unknown) => {
    failures.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
    fail(new Error(`synth failed:\n${failures.join("\n")}`));
  };
  const rpc = await startSstRpc(ROOT, path.join(work, "artifacts"), record);
  process.env.SST_SERVER = rpc.url;
  process.on("unhandledRejection", record);
  const resources: SynthResource[] = [];
  const cwd = process.cwd();
  try {
    const program = (await import(pathToFileURL(programFile).href)) as {
      pulumi: PulumiModule;
      run: (fn: () => unknown) => Promise<unknown>;
      mod: { run: () => unknown };
    };
    program.pulumi.runtime.setMocks(createMocks(resources), String(app.name), stage, false);
    await Promise.race([
      (async () => {
        await program.pulumi.runtime.runInPulumiStack(() => program.run(program.mod.run) as Promise<never>);
        await program.pulumi.runtime.disconnect();
      })(),
      failed,
    ]);
  } finally {
    process.chdir(cwd);
    process.off("unhandledRejection", record);
    await rpc.close();
  }
  if (failures.length) throw new Error(`synth failed:\n${failures.join("\n")}`);
  return { stage, app, resources, builds: Object.fromEntries(rpc.builds), secrets };
}

/**
 * The CLI's onLoad step: every source file of the app (outside .sst and node_modules) gets
 * `aws` and `sst` imported, which is how infra/ uses them as globals.
 */
function componentImports(): Plugin {
  return {
    name: "sst-component-imports",
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        if (
          args.path.includes(`${path.sep}.sst${path.sep}`) ||
          args.path.includes(`${path.sep}node_modules${path.sep}`)
        ) {
          return undefined;
        }
        const source = await readFile(args.path, "utf8");
        return {
          contents: [
            `import * as aws from "@pulumi/aws";`,
            `import * as sst from ${JSON.stringify(path.join(PLATFORM, "src/components"))};`,
            source,
          ].join("\n"),
          loader: "ts",
        };
      });
    },
  };
}

// CLI: `tsx scripts/infra/synth.ts <stage>` writes .sst/synth/<stage>/synthesis.json.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const stage = process.argv[2] ?? "ci";
  synthesize(stage)
    .then(async (result) => {
      const file = path.join(SYNTH_DIR, stage, "synthesis.json");
      await writeFile(file, JSON.stringify(result, null, 2));
      process.stdout.write(
        `${result.resources.length} resources, ${Object.keys(result.builds).length} bundles → ${file}\n`,
      );
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
