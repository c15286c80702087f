import type { AgentToolTarget } from "./agent-tool.ts";
import type { ResourceLimit, ToolModuleErrorCode } from "./tool-error.ts";

/**
 * The messages between a {@link ToolWorkerPool} and its workers (worker-host.ts). Module
 * addresses travel as `file:` URL strings, results as JSON text: what the main thread gets
 * back is exactly what would be stored in an event, already cut to size.
 */

/** Run the module's export `export`: `(input) => result | Promise<result>` (the calculator's form). */
export interface ExportTarget {
  kind: "export";
  export: string;
}

/**
 * What a call runs in the module: a named export, or a worker tool of the agent module that
 * the module's default export lists (agent-tool.ts).
 */
export type RunTarget = ExportTarget | AgentToolTarget;

/** Main thread → worker: run `target` of `module` on `input`. */
export interface RunRequest {
  type: "run";
  /** Matches the reply to the call. */
  id: number;
  /** `file:` URL of the module to import (cached by the worker after the first call). */
  module: string;
  target: RunTarget;
  /** The tool's input, already validated with its zod schema (structured-cloned). */
  input: unknown;
}

/** Main thread → worker: import `module` now, so a replacement worker is warm before its first call. */
export interface PreloadRequest {
  type: "preload";
  module: string;
}

/** Everything a worker is sent. */
export type HostRequest = RunRequest | PreloadRequest;

/** A failure inside the worker, as plain data (errors do not keep their class across threads). */
export interface FailureData {
  /** The error's `name` (`ToolError` is shown to the model; anything else is hidden). */
  name: string;
  message: string;
  /** Set when the failure was a resource limit the worker could catch itself (a stack overflow, an allocation V8 refused). */
  limit?: ResourceLimit;
  /** Set when a worker tool of an agent module broke the definition rule (agent-tool.ts). */
  code?: ToolModuleErrorCode;
}

/** Worker → main thread: the outcome of one {@link RunRequest}. */
export type RunReply =
  | { type: "result"; id: number; ok: true; json: string }
  | { type: "result"; id: number; ok: false; error: FailureData };
