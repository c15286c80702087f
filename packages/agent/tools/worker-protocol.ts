import type { ResourceLimit } from "./tool-error.ts";

/**
 * The messages between a {@link ToolWorkerPool} and its workers (worker-host.ts). Module
 * addresses travel as `file:` URL strings, results as JSON text: what the main thread gets
 * back is exactly what would be stored in an event, already cut to size.
 */

/** Main thread → worker: run `module`'s export `export` on `input`. */
export interface RunRequest {
  type: "run";
  /** Matches the reply to the call. */
  id: number;
  /** `file:` URL of the module to import (cached by the worker after the first call). */
  module: string;
  /** Name of the exported function: `(input) => result | Promise<result>`. */
  export: string;
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
}

/** Worker → main thread: the outcome of one {@link RunRequest}. */
export type RunReply =
  | { type: "result"; id: number; ok: true; json: string }
  | { type: "result"; id: number; ok: false; error: FailureData };
