import type { AddressInfo } from "node:net";
import dynalite from "dynalite";

/** A running dynalite server: its endpoint URL and how to stop it. */
export interface DynaliteHandle {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Start dynalite (the DynamoDB API over HTTP) on loopback. In memory unless `path` is given;
 * two processes must not share one on-disk path (LevelDB lock, docs/platform-notes.md).
 * @param port 0 picks a free port.
 */
export async function startDynalite(options: { path?: string; port?: number } = {}): Promise<DynaliteHandle> {
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
