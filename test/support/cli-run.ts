import { execFile } from "node:child_process";

/** The environment a CLI child starts from: this one, minus what would steer it to another server. */
export function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ["STAGECAST_URL", "STAGECAST_TOKEN", "STAGECAST_STREAM_URL", "FORCE_COLOR"])
    delete env[key];
  return env;
}

/**
 * Run the real terminal client (`node --import tsx packages/cli/bin.ts …args`, cwd `root`) to
 * its end with stdout and stderr as pipes (so it prints its plain view), and resolve with its
 * exit code and output. Never rejects for a non-zero exit: the caller asserts the code.
 * @param timeoutMs after which the child is killed (SIGTERM, its own pid only); default 90 s.
 * @throws Error when the child cannot be spawned or prints more than 16 MiB.
 */
export function runCli(
  root: string,
  args: readonly string[],
  timeoutMs = 90_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", "packages/cli/bin.ts", ...args],
      { cwd: root, env: cliEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        // A string code is a failure to spawn or to buffer the output (ENOENT, …MAXBUFFER).
        if (typeof error?.code === "string") reject(error);
        else resolve({ code: child.exitCode, stdout, stderr });
      },
    );
  });
}
