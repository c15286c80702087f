import { type ChildProcess, spawn } from "node:child_process";

/**
 * The URL `npm start` (local/stack/main.ts) prints once it listens ("Stagecast is running at
 * <url>"), read from the child's stdout and stderr.
 * @throws Error with everything the child printed, after `timeoutMs` (default 40 s) or when it exits first.
 */
export function startLine(child: ChildProcess, timeoutMs = 40_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no start-up line: ${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Stagecast is running at (http:\/\/\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening: ${out}`));
    });
  });
}

/**
 * Start `npm start`'s entry (local/stack/main.ts, on this Node) with STAGECAST_AGENT =
 * `modulePath`, on a free port with AUTH=off; resolves with its URL once it listens. `env`
 * adds or overrides settings (e.g. OFFLINE_MODEL_TOKENS_PER_SECOND); the caller stops the child.
 */
export function startWithAgent(
  root: string,
  modulePath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "local/stack/main.ts"], {
    cwd: root,
    env: { ...env, STAGECAST_AGENT: modulePath, PORT: "0", AUTH: "off", POWERTOOLS_LOG_LEVEL: "WARN" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return startLine(child).then((url) => ({ url, child }));
}
