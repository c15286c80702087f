import type { RunEvent } from "../../packages/events/index.ts";

/** A poll answer's body (200). */
export interface PollBody {
  runId: string;
  events: RunEvent[];
  next: number;
  ended: boolean;
}

/** One GET of a poll URL: status, headers, the raw body, and the body parsed when it is JSON. */
export interface PollAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The 200 body (undefined for an error answer). */
  body?: PollBody;
  /** The error code of an error answer. */
  code?: string;
}

/** GET a poll URL and read the whole answer. */
export async function getPoll(url: string, init: RequestInit = {}): Promise<PollAnswer> {
  const res = await fetch(url, init);
  const text = await res.text();
  const parsed = res.headers.get("content-type")?.startsWith("application/json")
    ? JSON.parse(text)
    : undefined;
  return {
    status: res.status,
    headers: res.headers,
    text,
    ...(res.status === 200 ? { body: parsed as PollBody } : {}),
    ...(parsed?.error ? { code: parsed.error.code as string } : {}),
  };
}

/** `link` (a poll link, maybe with `?token=`) with `after` set, as a client appends it: `?token=…&after=N`. */
export function pollUrl(link: string, after: number): string {
  const url = new URL(link);
  url.searchParams.set("after", String(after));
  return url.href;
}

/**
 * A long-poll watcher: GET `link` from cursor 0, following `next`, until an answer says `ended`.
 * @returns every event received, in order, and every answer.
 * @throws Error on an answer other than 200, or after `maxPolls` polls.
 */
export async function watchAll(
  link: string,
  maxPolls = 1000,
): Promise<{ events: RunEvent[]; answers: PollAnswer[] }> {
  const events: RunEvent[] = [];
  const answers: PollAnswer[] = [];
  let after = 0;
  for (let i = 0; i < maxPolls; i++) {
    const answer = await getPoll(pollUrl(link, after));
    answers.push(answer);
    if (!answer.body) throw new Error(`poll after ${after} answered ${answer.status}: ${answer.text}`);
    events.push(...answer.body.events);
    after = answer.body.next;
    if (answer.body.ended) return { events, answers };
  }
  throw new Error(`no end after ${maxPolls} polls`);
}
