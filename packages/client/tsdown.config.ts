import { defineConfig } from "tsdown";

/**
 * `npm run build` (and `npm pack`, through prepack) in packages/client: index.ts as one ES2022
 * ESM file plus one bundled declaration file in dist/. The event schema (../events) is inlined
 * in both, so the package is self-contained; its runtime dependencies (zod, eventsource-parser,
 * in package.json) stay imports. No platform builtins: the same file runs in Node ≥ 18 and browsers.
 */
export default defineConfig({
  entry: { index: "index.ts" },
  format: "esm",
  platform: "neutral",
  target: "es2022",
  tsconfig: "tsconfig.json",
  dts: true,
  outDir: "dist",
  fixedExtension: false,
  hash: false,
  clean: true,
  // zod builders (`z.object(…)`, `z.string().regex(…)`) only build schemas: calls whose result
  // nothing uses are dropped, so the server-only schemas of ../events (the AutoGen frame, …)
  // stay out. Nothing here calls zod for its effect (no `z.config`).
  treeshake: { manualPureFunctions: ["z"] },
});
