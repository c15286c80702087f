import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";

/** A running HTTP server: its base URL (no trailing slash) and how to stop it. */
export interface Served {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serve a Hono app with @hono/node-server on `host:port` (port 0 picks a free one).
 * close() also ends open connections (SSE streams would otherwise keep the server alive).
 */
export async function serveApp(app: Hono, port: number, host: string): Promise<Served> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(s));
    s.once("error", reject);
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        if ("closeAllConnections" in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
