import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { Env, Hono } from "hono";
import type { LogFn } from "../../packages/observability/index.ts";
import { onClientError, onUnmetExpectation, requestErrorHandler } from "./transport-errors.ts";

/** A running HTTP server: its base URL (no trailing slash) and how to stop it. */
export interface Served {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serve a Hono app with @hono/node-server on `host:port` (port 0 picks a free one).
 * close() also ends open connections (SSE streams would otherwise keep the server alive).
 * Requests Node or the adapter refuse before the app sees them (parse errors, no Host) get
 * the one JSON error shape too (see transport-errors.ts): Node's own `requireHostHeader`
 * check is off because it answers with an empty body; the adapter's refusal is answered instead.
 * @param log where errors that are not the client's go (never to the client).
 */
export async function serveApp<E extends Env>(
  app: Hono<E>,
  port: number,
  host: string,
  log: LogFn = () => {},
): Promise<Served> {
  const server = createServer(
    { requireHostHeader: false },
    getRequestListener(app.fetch, { errorHandler: requestErrorHandler(log) }),
  );
  server.on("clientError", onClientError);
  server.on("checkExpectation", onUnmetExpectation);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
