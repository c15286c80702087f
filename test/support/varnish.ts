import { type ChildProcess, execFile, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's VCL (local/cdn/stagecast.vcl): the CloudFront policy of the poll route, for Varnish. */
export const STAGECAST_VCL = fileURLToPath(new URL("../../local/cdn/stagecast.vcl", import.meta.url));

/** A running varnishd started by {@link startVarnish}. */
export interface Varnish {
  /** Base URL of its listener, e.g. http://127.0.0.1:41234. */
  url: string;
  pid: number;
  /** A counter of `varnishstat` (e.g. `MAIN.busy_sleep`: requests put on a waiting list). */
  stat(counter: string): Promise<number>;
  /** SIGTERM to its pid (SIGKILL after 10 s), then its working directory is removed. */
  stop(): Promise<void>;
}

/** The first executable among $VARNISHD, /usr/sbin (Debian's place, often not on PATH) and PATH. */
function findTool(name: string, envName: string): string {
  const candidates = [
    process.env[envName],
    `/usr/sbin/${name}`,
    `/usr/bin/${name}`,
    ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, name)),
  ].filter((p): p is string => Boolean(p));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // the next candidate
    }
  }
  throw new Error(`${name} not found: install Debian's varnish package (scripts/setup.sh does)`);
}

/** A free loopback port (bound, then released: fine for a test). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The VCL at `vclPath` with its `backend default` pointed at `origin`, then passed through
 * `transform` (a test's deliberately broken variant).
 * @throws Error when the VCL has no `backend default { … }` block.
 */
export function vclFor(
  origin: { host: string; port: number },
  transform: (vcl: string) => string = (vcl) => vcl,
  vclPath = STAGECAST_VCL,
): string {
  const vcl = readFileSync(vclPath, "utf8");
  const block = /backend\s+default\s*\{[^}]*\}/;
  if (!block.test(vcl)) throw new Error(`${vclPath} has no \`backend default { … }\` block`);
  const pointed = vcl.replace(block, (b) =>
    b
      .replace(/\.host\s*=\s*"[^"]*"/, `.host = "${origin.host}"`)
      .replace(/\.port\s*=\s*"[^"]*"/, `.port = "${origin.port}"`),
  );
  return transform(pointed);
}

/** Resolves once varnishd answers HTTP (any status); rejects when it exits or after 15 s. */
async function answering(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`varnishd exited: ${output()}`);
    try {
      await fetch(`${url}/__varnish_ready`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`varnishd did not answer at ${url}: ${output()}`);
}

/**
 * Start varnishd in the foreground (`-F`) with a working directory of its own (`-n` in a temp
 * dir), listening on a free loopback port, with the VCL from {@link vclFor} and 64 MB of
 * memory storage; `-j none` (no privilege separation: as root varnishd would otherwise switch to
 * a user that cannot read the temp dir). Stop it with `stop()` (by pid).
 * @throws Error when varnishd is missing, rejects the VCL, or does not answer.
 */
export async function startVarnish(options: {
  origin: { host: string; port: number };
  transform?: (vcl: string) => string;
}): Promise<Varnish> {
  const varnishd = findTool("varnishd", "VARNISHD");
  const dir = mkdtempSync(join(tmpdir(), "stagecast-varnish-"));
  const vclPath = join(dir, "stagecast.vcl");
  writeFileSync(vclPath, vclFor(options.origin, options.transform));
  const port = await freePort();
  const workDir = join(dir, "n");
  const args = [
    "-F",
    "-j",
    "none",
    "-n",
    workDir,
    "-a",
    `127.0.0.1:${port}`,
    "-f",
    vclPath,
    "-s",
    "malloc,64m",
  ];
  const child = spawn(varnishd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("error", (err) => keep(Buffer.from(err.message)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const pid = child.pid;
      process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => process.kill(pid, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await answering(url, child, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  const varnishstat = findTool("varnishstat", "VARNISHSTAT");
  const stat = (counter: string) =>
    new Promise<number>((resolve, reject) => {
      execFile(varnishstat, ["-n", workDir, "-1", "-f", counter], (err, stdout) => {
        if (err) return reject(err);
        const match = new RegExp(`^${counter.replace(".", "\\.")}\\s+(\\d+)`, "m").exec(stdout);
        resolve(match ? Number(match[1]) : 0);
      });
    });
  return { url, pid: child.pid as number, stat, stop };
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
