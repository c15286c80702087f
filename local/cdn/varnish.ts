/**
 * Varnish (Debian's `varnish` package, scripts/setup.sh installs it) in front of the local
 * stack, the local CDN: started and stopped by pid, `varnishd -F` in the foreground with a
 * working directory of its own, the project's VCL (local/cdn/stagecast.vcl) with its backend
 * pointed at the given origin, listening on a free loopback port. Varnish collapses identical
 * requests: while one fetch of a URL is in flight, the others wait on its waiting list and are
 * all answered from that one response as soon as it arrives. The benchmark's audience scenario
 * and the CDN tests (test/support/varnish.ts) start it through local/cdn/index.ts.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's VCL (local/cdn/stagecast.vcl): the CloudFront policy of the poll route, for Varnish. */
export const STAGECAST_VCL = fileURLToPath(new URL("./stagecast.vcl", import.meta.url));

/** A running varnishd started by {@link startVarnish}. */
export interface Varnish {
  /** Base URL clients use (http://127.0.0.1:<port>). */
  url: string;
  pid: number;
  /** Counters of `varnishstat -1` by name (e.g. `MAIN.busy_sleep`: requests put on a waiting list); 0 when absent. */
  stats(counters: readonly string[]): Promise<Record<string, number>>;
  /** SIGTERM by pid (SIGKILL after 10 s), then remove its working directory. */
  stop(): Promise<void>;
}

/** What {@link startVarnish} runs. */
export interface VarnishOptions {
  /** The origin: the VCL's `backend default` is pointed at this host and port. */
  backend: { host: string; port: number };
  /** The VCL file; {@link STAGECAST_VCL} when absent. */
  vclPath?: string;
  /** VCL text to run instead of the file's (e.g. a test's deliberately broken variant); its backend is pointed too. */
  vcl?: string;
}

/**
 * The executable `name` of Debian's varnish package: `$<envName>` when set (only it), else in
 * /usr/sbin or /usr/bin (Debian's places, /usr/sbin often not on PATH), else the first on PATH.
 * @throws Error saying how to install it, when there is none.
 */
function findTool(name: string, envName: string): string {
  const fromEnv = process.env[envName];
  const candidates = fromEnv
    ? [fromEnv]
    : [
        `/usr/sbin/${name}`,
        `/usr/bin/${name}`,
        ...(process.env.PATH ?? "").split(delimiter).map((d) => join(d, name)),
      ];
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  throw new Error(
    `${name} not found (looked for ${candidates.join(", ")}): the local CDN (the benchmark's audience ` +
      "scenario, the CDN tests) puts Varnish in front of the stack. Install Debian's package " +
      "(scripts/setup.sh does, as `npm test`'s pretest): apt-get install -y varnish",
  );
}

/** The varnishd to run ($VARNISHD, else Debian's). @throws Error saying how to install it, when there is none. */
export function findVarnishd(): string {
  return findTool("varnishd", "VARNISHD");
}

/** `vcl` with the backend named `default` pointed at host:port. @throws when the VCL has no such backend. */
function withBackend(vcl: string, host: string, port: number): string {
  const block = /backend\s+default\s*\{[^}]*\}/;
  if (!block.test(vcl))
    throw new Error("the VCL has no `backend default { … }` block to point at the origin");
  return vcl.replace(block, (b) =>
    b
      .replace(/\.host\s*=\s*"[^"]*"/, `.host = "${host}"`)
      .replace(/\.port\s*=\s*"[^"]*"/, `.port = "${port}"`),
  );
}

/** A free loopback TCP port (bound and released: another process could take it in between). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something answers HTTP at `url` (any status); rejects when `child` exits or after `timeoutMs`. */
async function answering(url: string, child: ChildProcess, output: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`varnishd exited (${child.exitCode ?? child.signalCode}): ${output()}`);
    try {
      await fetch(`${url}/__varnish_ready`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`varnishd did not answer at ${url} within ${timeoutMs} ms: ${output()}`);
}

/** varnishd's arguments: see {@link startVarnish}. */
function varnishdArgs(workDir: string, port: number, vclFile: string): string[] {
  const args = [
    "-F",
    "-j",
    "none",
    "-n",
    workDir,
    "-a",
    `127.0.0.1:${port}`,
    "-f",
    vclFile,
    "-s",
    "malloc,256m",
  ];
  // A worker adds its counters to the shared ones after every request, not every 10th: the
  // figures read over a few seconds at 1 watcher are then not left behind in a thread.
  args.push("-p", "thread_stats_rate=1");
  return args;
}

/** Spawn `varnishd`; `output()` is the last 4000 characters it wrote (and any spawn error). */
function spawnVarnishd(varnishd: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(varnishd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("error", (err) => keep(Buffer.from(`\n${err.message}`)));
  return { child, output: () => output };
}

/**
 * The stop of a spawned varnishd: SIGTERM by pid (SIGKILL after 10 s), then `dir` is removed.
 * Until then, if the process exits without stopping it (an error), varnishd goes too: SIGTERM by pid.
 */
function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  const running = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const onExit = () => {
    if (running()) process.kill(child.pid as number, "SIGTERM");
  };
  process.once("exit", onExit);
  return async () => {
    process.off("exit", onExit);
    if (running()) {
      const pid = child.pid as number;
      process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => process.kill(pid, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * Start varnishd with the VCL (`options.vcl`, else the file at `options.vclPath`, else
 * {@link STAGECAST_VCL}), its backend set to `options.backend`; resolves once it answers.
 * `-F`: in the foreground, so the pid spawned is varnishd's own and stopping it by pid works;
 * `-n` a working directory of its own in a temp dir (removed by `stop()`); `-j none`: no
 * privilege separation (the bench and the tests may run as root, and varnishd's unprivileged
 * user could not read a private temporary directory); 256 MB of memory storage; counters
 * flushed after every request (`thread_stats_rate=1`).
 * @throws when varnishd is missing (see {@link findVarnishd}), rejects the VCL or does not start.
 */
export async function startVarnish(options: VarnishOptions): Promise<Varnish> {
  const varnishd = findVarnishd();
  const vclText = options.vcl ?? readFileSync(options.vclPath ?? STAGECAST_VCL, "utf8");
  const pointed = withBackend(vclText, options.backend.host, options.backend.port);
  const dir = mkdtempSync(join(tmpdir(), "stagecast-varnish-"));
  const vclFile = join(dir, "stagecast.vcl");
  writeFileSync(vclFile, pointed);
  const port = await freePort();
  const workDir = join(dir, "n");
  const { child, output } = spawnVarnishd(varnishd, varnishdArgs(workDir, port, vclFile));
  const stop = stopper(child, dir);
  const url = `http://127.0.0.1:${port}`;
  try {
    await answering(url, child, output, 15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid as number, stats: (counters) => varnishStats(workDir, counters), stop };
}

/** `counters` of the varnishd whose working directory is `workDir` (`varnishstat -1`); 0 for one not listed. */
function varnishStats(workDir: string, counters: readonly string[]) {
  const varnishstat = findTool("varnishstat", "VARNISHSTAT");
  const filters = counters.flatMap((c) => ["-I", c]);
  return new Promise<Record<string, number>>((resolve, reject) => {
    execFile(varnishstat, ["-n", workDir, "-1", ...filters], (err, stdout) => {
      if (err) return reject(err);
      const values: Record<string, number> = {};
      for (const c of counters)
        values[c] = Number(new RegExp(`^${c.replace(".", "\\.")}\\s+(\\d+)`, "m").exec(stdout)?.[1] ?? 0);
      resolve(values);
    });
  });
}
