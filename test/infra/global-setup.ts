import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../scripts/infra/synth.ts";

/**
 * The deploy-time settings each synthesized stage sees: `ci` turns on everything optional
 * (CORS, the JWT authorizer, tracing), `production` runs with none of it, so both branches
 * of infra/ are exercised; `example` deploys examples/minimal's agent instead of the built-in one,
 * and `insights` examples/business-insights's, whose tool reads a data file beside its module
 * (sales.csv: infra/agent-files.ts copies it into every function).
 */
export const STAGE_ENV: Record<string, Record<string, string>> = {
  ci: {
    CORS_ORIGINS: "https://app.example.com",
    AUTH_ISSUER: "https://issuer.example.com/",
    AUTH_AUDIENCE: "stagecast",
    STAGECAST_TRACING: "active",
    OPENAI_MODEL: "gpt-4o-mini",
  },
  production: {},
  // The example agent (docs/agents.md), named as a deploy names it: STAGECAST_AGENT overrides
  // sst.config.ts's AGENT setting.
  example: { STAGECAST_AGENT: "examples/minimal/agent.ts" },
  insights: { STAGECAST_AGENT: "examples/business-insights/agent.ts" },
};

function synth(stage: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...STAGE_ENV[stage] };
    for (const key of [
      "CORS_ORIGINS",
      "AUTH_ISSUER",
      "AUTH_AUDIENCE",
      "STAGECAST_TRACING",
      "STAGECAST_AGENT",
    ]) {
      if (!STAGE_ENV[stage]?.[key]) delete env[key];
    }
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "scripts/infra/synth.ts"), stage],
      {
        cwd: ROOT,
        env,
        stdio: ["ignore", "inherit", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`synth ${stage} failed:\n${stderr}`)),
    );
  });
}

/** Synthesize every stage (child processes: each evaluates the program with its own Pulumi runtime). */
export default async function setup(): Promise<void> {
  await Promise.all(Object.keys(STAGE_ENV).map(synth));
}
