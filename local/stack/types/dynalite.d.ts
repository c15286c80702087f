/** Minimal types for dynalite 4 (it publishes none): a factory returning a node http.Server. */
declare module "dynalite" {
  import type { Server } from "node:http";

  interface DynaliteOptions {
    /** LevelDB folder; in memory when omitted. */
    path?: string;
    /** Simulated CreateTable delay (ms). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }
  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}
