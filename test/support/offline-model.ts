import OpenAI from "openai";
import { afterAll, beforeAll } from "vitest";
import { createOfflineModelApp } from "../../local/offline-model/index.ts";
import { type Served, serveApp } from "../../local/stack/serve.ts";

/** The embedded offline model served over real HTTP for one test file (or describe block), and an openai client for it. */
export interface OfflineModelServer {
  /** The server's base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The `openai` SDK pointed at `<url>/v1`, without retries (a test sees every failure). */
  readonly openai: OpenAI;
}

/**
 * Start the offline model (no pacing: `tokensPerSecond` 0) before the enclosing block's tests
 * and close it after them. Read the members inside tests only: they exist once beforeAll ran.
 */
export function serveOfflineModel(): OfflineModelServer {
  let server: Served | undefined;
  let client: OpenAI | undefined;
  beforeAll(async () => {
    server = await serveApp(createOfflineModelApp({ tokensPerSecond: 0 }), 0, "127.0.0.1");
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "offline", maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the offline model is not started yet (use it inside a test)");
    return value;
  };
  return {
    get url() {
      return started(server).url;
    },
    get openai() {
      return started(client);
    },
  };
}
