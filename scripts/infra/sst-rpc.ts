import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type BuildInput, type BuildResult, buildHandler } from "./build-handler.ts";

/** A running fake of the SST CLI's RPC server. */
export interface SstRpc {
  /** The value for SST_SERVER. */
  url: string;
  /** Every Runtime.Build answered, by function id. */
  builds: Map<string, BuildResult>;
  close(): Promise<void>;
}

/**
 * A stand-in for the RPC server the SST CLI runs while it evaluates sst.config.ts: components
 * call it over HTTP (POST /rpc, `{ method, params: [input] }` → `{ result }` or `{ error }`;
 * .sst/platform/src/components/rpc/rpc.ts). It answers the methods a deploy calls:
 * `Runtime.Build` (really bundles the handler: see buildHandler), `Provider.Aws.Bootstrap`
 * (asset bucket names, as the CLI's bootstrap returns them), `Runtime.AddTarget` and
 * `Provider.Aws.Appsync` (dev mode only; acknowledged). Any other method gets the CLI's own
 * "can't find" error, so a new dependency on the CLI shows up as a failed synth. A failed build
 * is also reported to `onBuildError` at once: inside Pulumi it would only leave an output
 * that never resolves.
 */
export async function startSstRpc(
  root: string,
  outRoot: string,
  onBuildError?: (message: string) => void,
): Promise<SstRpc> {
  const builds = new Map<string, BuildResult>();
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {
    "Runtime.Build": async (input) => {
      const result = await buildHandler(root, outRoot, input as BuildInput);
      builds.set((input as BuildInput).functionID, result);
      if (result.errors.length) onBuildError?.(result.errors.join("\n"));
      return result;
    },
    "Provider.Aws.Bootstrap": async () => ({
      asset: "sst-asset-offline",
      assetEcrRegistryId: "123456789012",
      assetEcrUrl: "123456789012.dkr.ecr.us-east-1.amazonaws.com/sst-asset",
      state: "sst-state-offline",
      appsyncHttp: "",
      appsyncRealtime: "",
    }),
    "Runtime.AddTarget": async () => ({}),
    "Provider.Aws.Appsync": async () => ({ http: "", realtime: "" }),
  };
  const server: Server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    let answer: { result?: unknown; error?: string };
    try {
      const { method, params } = JSON.parse(body) as { method: string; params: unknown[] };
      const handler = handlers[method];
      answer = handler ? { result: await handler(params[0]) } : { error: `rpc: can't find method ${method}` };
    } catch (err) {
      answer = { error: (err as Error).message };
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    builds,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
