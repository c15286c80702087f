/**
 * A counting reverse proxy (node:http) between the cache and the origin (the local stack): it
 * records when each request reached the origin and how many were in flight at once, and
 * passes requests and responses through unchanged (streamed both ways, keep-alive to the
 * origin). It is the benchmark's "origin request" meter: what a CDN in front of the stream's
 * Function URL would send on, i.e. the stream function's invocations.
 */
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

/** The running counter. */
export interface OriginCounter {
  /** Base URL the cache uses as its backend (http://127.0.0.1:<port>). */
  url: string;
  host: string;
  port: number;
  /** Requests that reached the origin from `fromMs` to `toMs` (ms since epoch), and the most in flight at once then. */
  window(fromMs: number, toMs: number): { requests: number; maxInFlight: number };
  stop(): Promise<void>;
}

/** Start a counting proxy in front of `originUrl` (http only) on a free loopback port. */
export async function startOriginCounter(originUrl: string): Promise<OriginCounter> {
  const origin = new URL(originUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  /** [arrival ms, in flight after it arrived] per request. */
  const arrivals: Array<[number, number]> = [];
  let inFlight = 0;
  const server = createServer((req, res) => {
    inFlight++;
    arrivals.push([Date.now(), inFlight]);
    let done = false;
    const finish = () => {
      if (!done) inFlight--;
      done = true;
    };
    res.on("close", finish);
    const upstream = request(
      {
        agent,
        host: origin.hostname,
        port: origin.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`origin counter: ${err.message}`);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: "127.0.0.1",
    port,
    window: (fromMs, toMs) => {
      const inside = arrivals.filter(([at]) => at >= fromMs && at < toMs);
      return { requests: inside.length, maxInFlight: Math.max(0, ...inside.map(([, n]) => n)) };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
