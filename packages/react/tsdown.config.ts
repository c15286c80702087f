import { defineConfig, type UserConfig } from "tsdown";

type Plugin = Extract<NonNullable<UserConfig["plugins"]>, { name: string }>;

/**
 * In the repository the hooks import the client's source (`../client/index.ts`, what the
 * type-check and the example use); in the package it is the `@stagecast/client` dependency.
 * This maps the one to the other in both the JavaScript and the declarations, so the client is
 * imported, never copied in (an app gets one client, the one it also imports).
 */
const clientAsDependency: Plugin = {
  name: "stagecast-client-as-dependency",
  resolveId(source) {
    return /^\.\.\/client\/index(\.d)?\.[jt]s$/.test(source)
      ? { id: "@stagecast/client", external: true }
      : null;
  },
};

/**
 * `npm run build` (and `npm pack`, through prepack) in packages/react: index.ts as one ES2022
 * ESM file plus one bundled declaration file in dist/; react stays a peer import.
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
  plugins: [clientAsDependency],
});
