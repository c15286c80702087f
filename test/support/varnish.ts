/**
 * The CDN tests' Varnish: local/cdn's varnishd starter (the repository's VCL, its backend pointed
 * at the test's origin) with a test's VCL variant and a one-counter read, and a counting origin
 * (the origin's own count of what the CDN let through).
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Varnish as CdnVarnish,
  STAGECAST_VCL,
  startVarnish as startCdn,
} from "../../local/cdn/index.ts";

/** A running varnishd started by {@link startVarnish}. */
export interface Varnish extends CdnVarnish {
  /** A counter of `varnishstat` (e.g. `MAIN.busy_sleep`: requests put on a waiting list); 0 when absent. */
  stat(counter: string): Promise<number>;
}

/**
 * Start varnishd (local/cdn's {@link startCdn}: foreground, own working directory, free loopback
 * port, stopped by pid) with the repository's VCL (local/cdn/stagecast.vcl) passed through
 * `transform` (a test's deliberately broken variant), its `backend default` pointed at `origin`.
 * @throws Error when varnishd is missing, rejects the VCL, or does not answer.
 */
export async function startVarnish(options: {
  origin: { host: string; port: number };
  transform?: (vcl: string) => string;
}): Promise<Varnish> {
  const vcl = options.transform?.(readFileSync(STAGECAST_VCL, "utf8"));
  const varnish = await startCdn({ backend: options.origin, ...(vcl === undefined ? {} : { vcl }) });
  return { ...varnish, stat: async (counter) => (await varnish.stats([counter]))[counter] ?? 0 };
}

/** An HTTP proxy in front of an origin that records every request it forwards. */
export interface CountingOrigin {
  host: string;
  port: number;
  /** Request targets (path and query) in arrival order. */
  requests: string[];
  /** How many requests had exactly this target (path and query). */
  count(target: string): number;
  close(): Promise<void>;
}

/**
 * Start a proxy on a free loopback port that forwards every request to `target` (a base URL)
 * unchanged (Host included) and records it: the origin's own count of what a CDN let through.
 */
export async function startCountingOrigin(target: string): Promise<CountingOrigin> {
  const upstream = new URL(target);
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? "");
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    host: "127.0.0.1",
    port,
    requests,
    count: (wanted) => requests.filter((r) => r === wanted).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
