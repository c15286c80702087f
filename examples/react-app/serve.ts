import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { bundleExample } from "./bundle.ts";
import { examplePage } from "./page.ts";
import type { ExamplePageConfig } from "./page-config.ts";

/** The example's HTTP server, running. */
export interface ExampleServer {
  /** Where to open the example, e.g. http://127.0.0.1:5173. */
  url: string;
  /**
   * The origins a browser may show the page under (127.0.0.1 and localhost, same port): the
   * stack must allow them (CORS_ORIGINS), the page calls it from another origin.
   */
  origins: string[];
  /** Stop listening and end open connections. */
  close(): Promise<void>;
}

/** Options of {@link serveExample}. */
export interface ServeExampleOptions {
  /** TCP port (0: a free one). */
  port: number;
  /** Interface to listen on; default 127.0.0.1 (the example is for this machine). */
  host?: string;
  /**
   * The stack the page talks to, read on each page request: the stack starts after this
   * server (it needs this server's origin for CORS), so until it is up this returns undefined
   * and the page answers 503.
   */
  stack(): ExamplePageConfig | undefined;
}

/**
 * Serve the example: `/` the page (page.ts, with the stack's address), `/app.js` the bundle
 * (bundle.ts, built once before listening), anything else 404.
 * @throws esbuild's error when the app does not compile; listen errors (port in use).
 */
export async function serveExample(options: ServeExampleOptions): Promise<ExampleServer> {
  const js = await bundleExample();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://example").pathname;
    if (path === "/app.js") {
      res
        .writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" })
        .end(js);
      return;
    }
    if (path !== "/" && path !== "/index.html") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    const stack = options.stack();
    if (!stack) {
      res.writeHead(503, { "content-type": "text/plain", "retry-after": "1" }).end("the stack is starting\n");
      return;
    }
    res
      .writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      .end(examplePage(stack));
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    origins: [`http://${host}:${port}`, `http://localhost:${port}`],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
