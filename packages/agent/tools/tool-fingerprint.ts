import { createHash } from "node:crypto";
import { z } from "zod";

/**
 * What identifies a worker tool's definition across threads: the main thread sends its
 * registered tool's fingerprint with each call, and the worker compares it with the tool it
 * finds by name in the agent module it loaded itself (agent-tool.ts). Each part is a SHA-256
 * in hex (64 characters).
 */
export interface ToolFingerprint {
  /** Name, description, time limit (ms) and the input's JSON Schema: the same wherever the module is built. */
  shape: string;
  /** `run`'s source text as this thread's loader produced it (tsx, type stripping, a bundle). */
  code: string;
  /**
   * The same for a function of this module: equal in two threads only when both load code the
   * same way, so only then is `code` comparable (under vitest the main thread's code is
   * rewritten by Vite and the worker's is not; two bundles are minified differently).
   */
  loader: string;
}

/** What {@link toolFingerprint} reads of a tool. */
export interface FingerprintedTool {
  name: string;
  description: string;
  timeoutMs: number;
  input: z.ZodObject;
  run: (...args: never[]) => unknown;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The input's JSON Schema as text, or the error that made it unrepresentable (still comparable). */
function schemaText(input: z.ZodObject): string {
  try {
    return JSON.stringify(z.toJSONSchema(input, { unrepresentable: "any" }));
  } catch (err) {
    return `unrepresentable: ${(err as Error).message}`;
  }
}

/**
 * The fingerprint of a worker tool's definition (see {@link ToolFingerprint}); computed once,
 * by defineTool, in every thread that evaluates the definition. Never throws.
 */
export function toolFingerprint(tool: FingerprintedTool): ToolFingerprint {
  const shape = JSON.stringify([tool.name, tool.description, tool.timeoutMs, schemaText(tool.input)]);
  return { shape: sha256(shape), code: sha256(tool.run.toString()), loader: LOADER };
}

/** This module's own code as this thread loaded it (see {@link ToolFingerprint.loader}). */
const LOADER = sha256(toolFingerprint.toString() + schemaText.toString());
