import { createDecipheriv } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { SynthResource } from "../../scripts/infra/pulumi-mocks.ts";
import { SYNTH_DIR, type Synthesis } from "../../scripts/infra/synth.ts";

/** A synthesized stage, loaded from .sst/synth/<stage>/synthesis.json, with lookups. */
export function loadSynthesis(stage: string) {
  const synthesis = JSON.parse(
    readFileSync(path.join(SYNTH_DIR, stage, "synthesis.json"), "utf8"),
  ) as Synthesis;
  const all = (type: string) => synthesis.resources.filter((r) => r.type === type);
  const one = (type: string, name: string): SynthResource => {
    const found = synthesis.resources.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`no ${type} named ${name}`);
    return found;
  };
  const fn = (name: string) => one("aws:lambda/function:Function", `${name}Function`);
  /** The ARN the mocks gave a function: arn:aws:lambda:<region>:<account>:function:<physical name>. */
  const functionArn = (name: string) =>
    `arn:aws:lambda:us-east-1:123456789012:function:${fn(name).inputs.name}`;
  /** Statements of a role's inline policies (IAM JSON). */
  const statements = (roleName: string) =>
    ((one("aws:iam/role:Role", roleName).inputs.inlinePolicies ?? []) as { policy: string }[]).flatMap(
      (p) =>
        (JSON.parse(p.policy) as { Statement: { Effect: string; Action: string[]; Resource: string[] }[] })
          .Statement,
    );
  /** The linked resources a function's code can read: its resource.enc decrypted with its SST_KEY. */
  const links = (name: string): Record<string, { value?: string }> => {
    const env = (fn(name).inputs.environment as { variables: Record<string, string> }).variables;
    const build = synthesis.builds[name];
    if (!build) throw new Error(`no build for ${name}`);
    const data = readFileSync(path.join(build.out, "resource.enc"));
    const decipher = createDecipheriv(
      "aes-256-gcm",
      Buffer.from(env.SST_KEY ?? "", "base64"),
      Buffer.alloc(12, 0),
    );
    decipher.setAuthTag(data.subarray(-16));
    return JSON.parse(
      Buffer.concat([decipher.update(data.subarray(0, -16)), decipher.final()]).toString("utf8"),
    );
  };
  return { ...synthesis, all, one, fn, functionArn, statements, links };
}

/** Actions a set of statements allows on a resource (exact ARN or a trailing-`*` pattern). */
export function allowedOn(
  statements: { Effect: string; Action: string[]; Resource: string[] }[],
  arn: string,
): string[] {
  const matches = (pattern: string) =>
    pattern === arn || (pattern.endsWith("*") && arn.startsWith(pattern.slice(0, -1)));
  return statements
    .filter((s) => s.Effect === "Allow" && s.Resource.some(matches))
    .flatMap((s) => s.Action)
    .sort();
}
