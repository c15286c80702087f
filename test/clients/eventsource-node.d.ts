import type { EventSourceInit } from "eventsource";

/** Types of the recipe eventsource-node.js, for the tests that import it. */
export interface FollowHandlers {
  onEvent(event: Record<string, unknown>): void;
  onControl?(type: string, data: Record<string, unknown>): void;
}
export function followRun(
  url: string,
  handlers: FollowHandlers,
  init?: EventSourceInit,
): Promise<Record<string, unknown> | null>;
