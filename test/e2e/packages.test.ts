import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Browser, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/**
 * The installable packages as a user gets them: packages/client and packages/react are built
 * (tsdown) and packed (`npm pack`), and the tarballs are installed into a fresh app in a
 * temporary directory outside the repository, next to react, react-dom, typescript and the
 * React types. That app type-checks with a consumer's settings (`lib: ["ES2022", "DOM"]`,
 * strict, bundler resolution, declaration files checked too), runs the client in plain Node
 * ESM, and runs docs/client.md's React component, bundled by esbuild, in Chromium against the
 * local stack (another origin: the stack allows it with CORS_ORIGINS).
 *
 * Offline: the app's package-lock.json is written here from the project's own lock (same
 * versions and integrity hashes as node_modules), so `npm ci --prefer-offline` takes every
 * tarball from the npm cache that the project's install filled; the registry is asked only
 * for what the cache lacks.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NODE = process.execPath;
/** This Node first on PATH: npm and the scripts it runs (tsdown needs Node ≥ 22.18) use it. */
const ENV = { ...process.env, PATH: `${dirname(NODE)}${delimiter}${process.env.PATH ?? ""}` };

/** Run a command; resolves with its stdout, rejects with its whole output when it fails. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${command} ${args.join(" ")} (in ${cwd}) exited ${code}:\n${stdout}\n${stderr}`)),
    );
  });
}

interface Packed {
  name: string;
  filename: string;
  files: Array<{ path: string }>;
}

/** Build a package (its `build` script: tsdown) and pack it into `dest`; npm pack's JSON report. */
async function buildAndPack(dir: string, dest: string): Promise<Packed> {
  const cwd = join(ROOT, "packages", dir);
  await run("npm", ["run", "-s", "build"], cwd);
  const report = JSON.parse(
    await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dest], cwd),
  );
  return report[0] as Packed;
}

type LockEntry = {
  version: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
};

/**
 * package-lock.json entries for `names` and everything they depend on, copied from the
 * project's own lock, so the app installs exactly what node_modules holds. The project's lock
 * leaves `resolved` out; the registry's tarball address is written back (npm maps it to the
 * configured registry), so npm needs no package metadata, only the cached tarballs.
 */
function lockEntries(names: string[]): Record<string, LockEntry> {
  const root = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")).packages as Record<
    string,
    LockEntry & { dev?: boolean; devOptional?: boolean; peer?: boolean }
  >;
  const out: Record<string, LockEntry> = {};
  const add = (name: string) => {
    const key = `node_modules/${name}`;
    if (out[key]) return;
    const entry = root[key];
    if (!entry?.integrity) throw new Error(`${name} is not a registry package in package-lock.json`);
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...kept } = entry;
    const tarball = `${name.split("/").pop()}-${entry.version}.tgz`;
    out[key] = { ...kept, resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${tarball}` };
    for (const dependency of Object.keys(entry.dependencies ?? {})) add(dependency);
  };
  for (const name of names) add(name);
  return out;
}

/** The installed version of a root dependency (what the app pins). */
const installed = (name: string): string =>
  (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;

/** Write the consumer app's package.json and package-lock.json for the two tarballs. */
function writeManifests(app: string, tarballs: Record<string, string>): void {
  const registry = ["react", "react-dom", "typescript", "@types/react", "@types/react-dom"];
  const manifest = {
    name: "stagecast-consumer",
    private: true,
    type: "module",
    dependencies: {
      ...Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`])),
      react: installed("react"),
      "react-dom": installed("react-dom"),
    },
    devDependencies: Object.fromEntries(registry.slice(2).map((name) => [name, installed(name)])),
  };
  const packed = Object.fromEntries(
    Object.entries(tarballs).map(([name, file]) => {
      const {
        version,
        dependencies = {},
        peerDependencies,
      } = JSON.parse(
        readFileSync(join(ROOT, "packages", name.replace("@stagecast/", ""), "package.json"), "utf8"),
      );
      return [`node_modules/${name}`, { version, resolved: `file:${file}`, dependencies, peerDependencies }];
    }),
  );
  const fromRegistry = Object.values(packed).flatMap((p) =>
    Object.keys(p.dependencies).filter((d) => !d.startsWith("@stagecast/")),
  );
  const lock = {
    name: manifest.name,
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": {
        name: manifest.name,
        dependencies: manifest.dependencies,
        devDependencies: manifest.devDependencies,
      },
      ...lockEntries([...registry, ...fromRegistry]),
      ...packed,
    },
  };
  writeFileSync(join(app, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(app, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
}

/** docs/client.md's React component (the first ```tsx block after its heading), as it is. */
function docsComponent(): string {
  const doc = readFileSync(join(ROOT, "docs/client.md"), "utf8");
  const from = doc.indexOf("\n### One component\n");
  if (from < 0) throw new Error("docs/client.md has no heading ### One component");
  const match = /```tsx\n([\s\S]*?)```/.exec(doc.slice(from));
  if (!match?.[1]) throw new Error("docs/client.md has no ```tsx block after ### One component");
  return match[1];
}

/** The consumer's compiler settings: what a browser app of today uses, declaration files checked too. */
const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2022", "DOM"],
    module: "ESNext",
    moduleResolution: "bundler",
    jsx: "react-jsx",
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  },
  include: ["src"],
};

/**
 * The page around docs/client.md's component: it also watches a run given by the test
 * (`harness.watch(runId)`, useRun with the client from StagecastProvider), unmounts that
 * watcher (`harness.unmount()`), and starts runs through useStartRun (`harness.start(question)`)
 * to show a refused start. StrictMode and React's development build: effects mount, unmount
 * and mount again, as in a developer's app.
 */
const harnessSource = (baseUrl: string) => `
import { createClient } from "@stagecast/client";
import { StagecastProvider, useRun, useStartRun } from "@stagecast/react";
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { Ask } from "./ask";

const client = createClient({ baseUrl: ${JSON.stringify(baseUrl)} });

declare global {
  interface Window {
    harness?: { watch(runId: string): void; unmount(): void; start(question: string): void };
  }
}

function Watch({ runId }: { runId: string }) {
  const run = useRun(runId);
  return (
    <output id="watch" data-run={run.runId} data-connection={run.connection} data-status={run.status}>
      {run.runId}: {run.connection}
    </output>
  );
}

function Starter({ question }: { question: string }) {
  const { start, runId, pending, error } = useStartRun();
  useEffect(() => {
    void start({ question });
  }, [start, question]);
  const code = error && "code" in error ? String(error.code) : "";
  return (
    <output id="start" data-pending={String(pending)} data-run={runId ?? ""} data-error={code}>
      {pending ? "starting" : code || runId}
    </output>
  );
}

function Harness() {
  const [runId, setRunId] = useState<string>();
  const [watching, setWatching] = useState(true);
  const [question, setQuestion] = useState<string>();
  useEffect(() => {
    window.harness = { watch: setRunId, unmount: () => setWatching(false), start: setQuestion };
  }, []);
  return (
    <StagecastProvider client={client}>
      <Ask />
      {watching && runId ? <Watch runId={runId} /> : null}
      {question === undefined ? null : <Starter question={question} />}
    </StagecastProvider>
  );
}

const root = document.getElementById("root");
if (!root) throw new Error("no #root");
createRoot(root).render(
  <StrictMode>
    <Harness />
  </StrictMode>,
);
`;

/** Plain Node ESM with the packed client: start a run, fold it to its end, print what it saw. */
const NODE_CHECK = `
import { applyEvent, createClient, initialRunProgress } from "@stagecast/client";

const client = createClient({ baseUrl: process.argv[2] });
const { runId } = await client.startRun({ question: "How do I stream progress from Lambda?" });
const view = initialRunProgress(runId);
const types = [];
for await (const event of client.subscribe(runId)) {
  applyEvent(view, event);
  types.push(event.type);
}
console.log(JSON.stringify({ runId, terminal: view.terminal, answer: view.answer, stages: view.stages, types }));
`;

const INDEX_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>consumer</title></head>
<body><div id="root"></div><script type="module" src="/app.js"></script></body></html>`;

/** Serve the app's page and bundle from `dir` on a free loopback port. */
async function serveApp(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const file = req.url === "/" ? "index.html" : req.url === "/app.js" ? "app.js" : undefined;
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith(".js") ? "text/javascript" : "text/html";
    res.writeHead(200, { "content-type": `${type}; charset=utf-8` }).end(readFileSync(join(dir, file)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** What the harness page puts on `window` for the test to drive it. */
type HarnessWindow = {
  harness?: { watch(runId: string): void; unmount(): void; start(question: string): void };
};

const isStream = (runId: string) => (url: string) => new URL(url).pathname === `/runs/${runId}/stream`;

describe("the packed client and React hooks in a fresh app", () => {
  const tmp = mkdtempSync(join(tmpdir(), "stagecast-packages-"));
  const packs = join(tmp, "packs");
  const app = join(tmp, "app");
  let packed: Packed[];
  let web: Awaited<ReturnType<typeof serveApp>> | undefined;
  let stack: Awaited<ReturnType<typeof startTestStack>> | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    mkdirSync(packs);
    mkdirSync(join(app, "src"), { recursive: true });
    mkdirSync(join(app, "public"));
    packed = await Promise.all(["client", "react"].map((dir) => buildAndPack(dir, packs)));
    writeManifests(app, Object.fromEntries(packed.map((p) => [p.name, join(packs, p.filename)])));
    await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], app);

    web = await serveApp(join(app, "public"));
    stack = await startTestStack({ CORS_ORIGINS: web.url, OFFLINE_MODEL_TOKENS_PER_SECOND: "300" });
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(join(app, "src/ask.tsx"), docsComponent().replace("http://127.0.0.1:3000", stack.url));
    writeFileSync(join(app, "src/main.tsx"), harnessSource(stack.url));
    writeFileSync(join(app, "node-check.mjs"), NODE_CHECK);
    writeFileSync(join(app, "public/index.html"), INDEX_HTML);
    await build({
      absWorkingDir: app,
      entryPoints: ["src/main.tsx"],
      outfile: "public/app.js",
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      jsx: "automatic",
      define: { "process.env.NODE_ENV": '"development"' },
      logLevel: "silent",
    });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (web) {
      web.server.closeAllConnections();
      await new Promise((resolve) => web?.server.close(resolve));
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it("packs dist/index.js and dist/index.d.ts only, self-contained: no relative import, only declared dependencies", () => {
    const imports = (file: string) =>
      [
        ...readFileSync(file, "utf8").matchAll(
          /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/g,
        ),
      ].map((m) => m[1]);
    const expected: Record<string, string[]> = {
      "@stagecast/client": ["eventsource-parser/stream", "zod"],
      "@stagecast/react": ["@stagecast/client", "react"],
    };
    for (const pack of packed) {
      expect(pack.files.map((f) => f.path).sort()).toEqual([
        "dist/index.d.ts",
        "dist/index.js",
        "package.json",
      ]);
      const dir = join(app, "node_modules", pack.name);
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      expect(manifest).toMatchObject({
        type: "module",
        sideEffects: false,
        exports: { ".": { types: "./dist/index.d.ts", import: "./dist/index.js" } },
      });
      expect(manifest.private).toBeUndefined();
      const used = new Set([
        ...imports(join(dir, "dist/index.js")),
        ...imports(join(dir, "dist/index.d.ts")),
      ]);
      expect([...used].sort(), pack.name).toEqual(expected[pack.name]);
    }
    // The events schema is in the client's files, not imported from anywhere.
    const types = readFileSync(join(app, "node_modules/@stagecast/client/dist/index.d.ts"), "utf8");
    expect(types).toContain("declare const RunEventSchema");
  });

  it("type-checks the app with lib ES2022 + DOM, strict, bundler resolution, and so do the packages' own sources", async () => {
    await run(NODE, [join(app, "node_modules/typescript/bin/tsc"), "-p", app], app);
    // The sources the packages are built from, under the same lib (packages/*/tsconfig.json).
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    for (const dir of ["client", "react"])
      await run(NODE, [tsc, "-p", `packages/${dir}/tsconfig.json`], ROOT);
  }, 60_000);

  it("runs the packed client in plain Node ESM: a run read to its one terminal event", async () => {
    const out = JSON.parse(await run(NODE, ["node-check.mjs", stack?.url ?? ""], app)) as {
      runId: string;
      terminal: string;
      answer: string;
      stages: Array<{ state: string }>;
      types: string[];
    };
    const stored = (await (await fetch(`${stack?.url}/runs/${out.runId}`)).json()) as { answer: string };
    expect(out.terminal).toBe("run.completed");
    expect(out.answer).toBe(stored.answer);
    expect(out.types[0]).toBe("run.queued");
    expect(
      out.types.filter((t) => t.startsWith("run.") && t !== "run.queued" && t !== "run.started"),
    ).toEqual(["run.completed"]);
    expect(out.stages.length).toBeGreaterThan(0);
    expect(out.stages.every((s) => s.state === "done")).toBe(true);
  }, 60_000);

  describe("in Chromium", () => {
    let page: Page;
    const pageErrors: string[] = [];
    beforeAll(async () => {
      page = await (browser as Browser).newPage();
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(web?.url ?? "");
      await page.waitForFunction(() => (window as unknown as HarnessWindow).harness !== undefined);
    });
    afterAll(async () => {
      await page?.close();
    });

    it("starts a run with useStartRun and renders its stages and final answer with useRun (docs/client.md's component)", async () => {
      const started = page.waitForResponse(
        (r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/runs",
      );
      await page.getByRole("button", { name: "Ask" }).click();
      const { runId } = (await (await started).json()) as { runId: string };
      // The component ends up showing the run's stages, each done, and the answer the run stored.
      type Run = { status: string; answer: string; stages: Array<{ name: string }> };
      const stored = async () => (await (await fetch(`${stack?.url}/runs/${runId}`)).json()) as Run;
      await expect.poll(async () => (await stored()).status, { timeout: 30_000 }).toBe("completed");
      const run = await stored();
      const items = page.locator("section ol li");
      await expect.poll(() => items.allTextContents()).toEqual(run.stages.map((s) => `${s.name}: done`));
      await expect.poll(() => page.locator("section p").textContent()).toBe(run.answer);
      await expect.poll(() => page.locator("section progress").getAttribute("value")).toBe("100");
      expect(await page.getByRole("button", { name: "Ask" }).isEnabled()).toBe(true);
      expect(pageErrors).toEqual([]);
    }, 60_000);

    it("shows a refused start as useStartRun's error, with nothing pending", async () => {
      await page.evaluate(() => (window as unknown as HarnessWindow).harness?.start(""));
      await page.waitForSelector('#start[data-pending="false"][data-error]:not([data-error=""])', {
        state: "attached",
      });
      expect(await page.locator("#start").getAttribute("data-error")).toBe("invalid_request");
      expect(await page.locator("#start").getAttribute("data-run")).toBe("");
    });

    it("closes the old run's stream when runId changes, and the current one at unmount", async () => {
      const url = stack?.url ?? "";
      // Both runs wait in their first model call, so their streams stay open until closed by the page.
      const knobs = `${stack?.offlineModelUrl}/_offline/knobs`;
      const stall = { stallNext: { count: 2, ms: 60_000 } };
      await fetch(knobs, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(stall),
      });
      const [a, b] = [
        (await startRun(url, { question: "Run A" })).runId,
        (await startRun(url, { question: "Run B" })).runId,
      ];
      const opened: Request[] = [];
      const failed = new Map<Request, string>();
      const finished = new Set<Request>();
      page.on("response", (r) => opened.push(r.request()));
      page.on("requestfailed", (r) => failed.set(r, r.failure()?.errorText ?? ""));
      page.on("requestfinished", (r) => finished.add(r));
      /** The stream request of `runId` that got a response and is still open. */
      const openStream = async (runId: string) => {
        await expect
          .poll(
            () => opened.filter((r) => isStream(runId)(r.url()) && !failed.has(r) && !finished.has(r)).length,
          )
          .toBe(1);
        return opened.find((r) => isStream(runId)(r.url()) && !failed.has(r) && !finished.has(r)) as Request;
      };
      try {
        await page.evaluate((runId) => (window as unknown as HarnessWindow).harness?.watch(runId), a);
        await page.waitForSelector(`#watch[data-run="${a}"][data-connection="open"]`, { state: "attached" });
        const streamA = await openStream(a);

        await page.evaluate((runId) => (window as unknown as HarnessWindow).harness?.watch(runId), b);
        await page.waitForSelector(`#watch[data-run="${b}"][data-connection="open"]`, { state: "attached" });
        await expect.poll(() => failed.get(streamA)).toBe("net::ERR_ABORTED");
        const streamB = await openStream(b);

        await page.evaluate(() => (window as unknown as HarnessWindow).harness?.unmount());
        await page.waitForSelector("#watch", { state: "detached" });
        await expect.poll(() => failed.get(streamB)).toBe("net::ERR_ABORTED");
        expect(finished.has(streamA) || finished.has(streamB)).toBe(false);
        // Neither run was cancelled by it: closing a stream only stops watching.
        for (const runId of [a, b]) {
          const run = (await (await fetch(`${url}/runs/${runId}`)).json()) as { status: string };
          expect(["queued", "running"]).toContain(run.status);
        }
        expect(pageErrors).toEqual([]);
      } finally {
        await fetch(knobs, { method: "DELETE" });
        for (const runId of [a, b]) await fetch(`${url}/runs/${runId}/cancel`, { method: "POST" });
      }
    }, 60_000);
  });
});
