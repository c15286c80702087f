import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/**
 * The example app (main.tsx and everything it imports: React, the hooks, the client) as one
 * minified ES2022 module for the browser, built in memory with esbuild (about a second).
 * React's production build: StrictMode's development double effects are not in it.
 * @throws esbuild's BuildFailure when the sources do not compile.
 */
export async function bundleExample(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL("./main.tsx", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    jsx: "automatic",
    minify: true,
    legalComments: "none",
    define: { "process.env.NODE_ENV": '"production"' },
    write: false,
    logLevel: "silent",
  });
  const js = result.outputFiles[0]?.text;
  if (js === undefined) throw new Error("esbuild produced no output for examples/react-app/main.tsx");
  return js;
}
