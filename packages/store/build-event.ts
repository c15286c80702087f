import type { EventInput, RunEvent } from "../events/index.ts";

/**
 * The one place a stored event gets the fields the store assigns: `runId`, `seq` (its place in
 * the run's log, 1, 2, 3 …) and `ts` (ISO-8601 UTC of the write, from `nowMs`, ms since epoch).
 * Every writer (the run log's append, the run's first event, an ending written at a known seq)
 * builds its event here, so the three fields cannot drift apart between them.
 */
export function buildEvent(input: EventInput, runId: string, seq: number, nowMs: number): RunEvent {
  // EventInput is RunEvent minus exactly these fields, so adding them back gives a RunEvent.
  return { ...input, runId, seq, ts: new Date(nowMs).toISOString() } as RunEvent;
}
