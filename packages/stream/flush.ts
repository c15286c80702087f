import { sseComment } from "../events/index.ts";

/**
 * How the stream pushes small writes through front ends that hold them back. On AWS, writes to
 * a Function URL response stream are reported to be held after they leave the function until
 * about 16 KB (or 100 KB) have gathered, or until the next chunk arrives; the runtime client
 * itself sends every write at once (docs/platform-notes.md, "The Lambda runtime and response streaming"), so this cannot be
 * measured here — scripts/measure-flush.ts measures it against a deployed stream.
 * - `off`: write frames only (fewest bytes; frames may wait in such a buffer).
 * - `pad`: after each batch of frames, an SSE comment that brings the batch just past `padBytes`
 *   (bytes per batch > padBytes; defeats a size threshold up to padBytes); a batch already that
 *   large gets the trailer instead, so its last frame is not left waiting for a next chunk.
 * - `trailer`: after each batch, a separate 2-byte comment write (a few bytes per batch;
 *   defeats "released when the next chunk arrives", not a size threshold).
 */
export const FLUSH_STRATEGIES = ["off", "pad", "trailer"] as const;
/** One of {@link FLUSH_STRATEGIES}. */
export type FlushStrategy = (typeof FLUSH_STRATEGIES)[number];

/** The trailer write: an empty SSE comment line, ignored by clients (see sseComment). */
export const TRAILER = ":\n";

/**
 * The extra write (if any) to send after a batch of `batchBytes` bytes under `strategy`.
 * @param padBytes the batch size `pad` brings each batch up to (bytes).
 */
export function flushWrite(
  strategy: FlushStrategy,
  padBytes: number,
  batchBytes: number,
): string | undefined {
  if (strategy === "off") return undefined;
  if (strategy === "pad" && batchBytes <= padBytes) {
    // sseComment adds ": " and "\n" (3 bytes) around the filler; PAD_OVER bytes past the
    // threshold, for buffers that release only once it is exceeded.
    return sseComment(" ".repeat(Math.max(0, padBytes - batchBytes - 3 + PAD_OVER)));
  }
  return TRAILER;
}

/** How far past `padBytes` the `pad` strategy goes (bytes). */
export const PAD_OVER = 64;
