import { createCipheriv } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";

/** What SST's CLI passes to `Runtime.Build` for a Node.js function (the subset we use). */
export interface BuildInput {
  functionID: string;
  /** `<file without extension>.<export>`, relative to the project root, e.g. `functions/api.handler`. */
  handler: string;
  runtime: string;
  /** The function's `nodejs` args plus `architecture`. */
  properties?: {
    format?: "esm" | "cjs";
    minify?: boolean;
    sourcemap?: boolean;
    architecture?: string;
    /** `nodejs.esbuild`: of its options, `define` is used here (infra/agent.ts sets it). */
    esbuild?: { define?: Record<string, string> };
  };
  /** Linked resources by name (e.g. `{ OpenaiApiKey: { value } }`), written encrypted to resource.enc. */
  links?: Record<string, unknown>;
  /** AES-256 key, base64: the function decrypts resource.enc with it (SST_KEY). */
  encryptionKey: string;
}

/** What `Runtime.Build` answers. */
export interface BuildResult {
  handler: string;
  /** The bundle folder, zipped as the function's code. */
  out: string;
  errors: string[];
  sourcemaps: string[];
  /** Ours, not SST's: bytes of the handler's bundle file (without its source map). */
  bytes: number;
}

const SOURCE_EXTENSIONS = [".ts", ".mts", ".tsx", ".js", ".mjs"];

/**
 * Bundle one handler the way SST's Node.js builder does (esbuild, bundle, platform node, ESM,
 * `.mjs` output with a createRequire banner so bundled CommonJS can `require` built-ins,
 * `nodejs.esbuild.define` passed through) and
 * write the linked resources to `resource.enc` exactly as SST's runtime SDK reads them
 * (AES-256-GCM, zero nonce, ciphertext followed by the 16-byte tag; sst/resource node.js).
 * Never throws for a build problem: a missing file or an unresolved import comes back in
 * `errors`, which makes the synth fail like `sst deploy` would.
 */
export async function buildHandler(root: string, outRoot: string, input: BuildInput): Promise<BuildResult> {
  const out = path.join(outRoot, `${input.functionID}-src`);
  const parsed = path.posix.parse(input.handler);
  const base = path.posix.join(parsed.dir, parsed.name);
  const fail = (message: string): BuildResult => ({
    handler: input.handler,
    out,
    errors: [message],
    sourcemaps: [],
    bytes: 0,
  });
  if (!input.runtime.startsWith("nodejs")) return fail(`unsupported runtime ${input.runtime}`);
  const entry = SOURCE_EXTENSIONS.map((ext) => path.join(root, base + ext)).find((file) => existsSync(file));
  if (!entry) return fail(`Could not find a file for handler "${input.handler}"`);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const outfile = path.join(out, `${base}.mjs`);
  const sourcemap = input.properties?.sourcemap ?? false;
  try {
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node24",
      mainFields: ["module", "main"],
      minify: input.properties?.minify ?? true,
      // Passed through as SST's builder does (pkg/runtime/node/build.go: Define).
      define: input.properties?.esbuild?.define ?? {},
      sourcemap,
      logLevel: "silent",
      banner: {
        js: [
          `import { createRequire as topLevelCreateRequire } from "module";`,
          `const require = topLevelCreateRequire(import.meta.url);`,
        ].join("\n"),
      },
    });
    const bytes = (await stat(outfile)).size;
    await writeFile(path.join(out, "resource.enc"), encryptLinks(input.links ?? {}, input.encryptionKey));
    return {
      handler: input.handler,
      out,
      errors: [],
      sourcemaps: sourcemap ? [`${outfile}.map`] : [],
      bytes,
    };
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string } | null }[] }).errors;
    return fail(
      errors?.map((e) => `${e.location?.file ?? entry}: ${e.text}`).join("\n") ?? (err as Error).message,
    );
  }
}

/**
 * The resource.enc payload: the links JSON under AES-256-GCM with the function's key and a
 * zero nonce (a fresh key per deploy makes the fixed nonce safe), tag appended.
 */
export function encryptLinks(links: Record<string, unknown>, keyBase64: string): Buffer {
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(keyBase64, "base64"), Buffer.alloc(12, 0));
  const body = Buffer.concat([cipher.update(JSON.stringify(links)), cipher.final()]);
  return Buffer.concat([body, cipher.getAuthTag()]);
}
