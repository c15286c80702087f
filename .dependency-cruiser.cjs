// Package boundaries for packages/ and functions/, checked by `npm run check:deps` (part of
// `npm test`). Three kinds of rule:
//
// 1. No circular dependency between modules (type-only imports count too).
// 2. A package is entered through its index.ts only: an import from another package (or from
//    functions/) into any other file of a package fails. Within a package, siblings import each
//    other freely. (test/ and bench/ are not checked: they may import what they test.)
// 3. Layers. A package may import only packages in lower ranks, never a higher one and never
//    a sibling in its own rank:
//
//      0 events                      the event contract
//      1 runtime                     leaf services: config, logger, metrics, CORS, secret links
//      2 store                       DynamoDB table
//      3 auth                        jose verifiers
//      4 workflow                    ASL + Workflow port
//      5 agent                       stage runner, stages, model client, tools
//      6 runs | offline-model        the start path | the offline model server
//      7 http                        the Hono apps
//      8 compose                     builds the parts from a configuration
//      9 local | functions           the two composition roots
//
//    Clients (client, web, cli) import only events and each other; of the server side only
//    http imports a client package (web, for the page's bundle). offline-model is imported
//    only by local (and test/, bench/).

/** Server layers, lowest first; packages in one inner list are siblings. */
const LAYERS = [
  ["events"],
  ["runtime"],
  ["store"],
  ["auth"],
  ["workflow"],
  ["agent"],
  ["runs", "offline-model"],
  ["http"],
  ["compose"],
  ["local", "functions"],
];

/** A path regex for a package (or functions/). */
const at = (name) => (name === "functions" ? "^functions/" : `^packages/${name}/`);

const layerRules = LAYERS.flatMap((rank, index) =>
  rank.map((name) => {
    const above = LAYERS.slice(index + 1).flat();
    const siblings = rank.filter((other) => other !== name);
    const forbidden = [...above, ...siblings];
    return {
      name: `layer-${name}`,
      comment: `${name} (rank ${index}) must not import ${forbidden.join(", ")}: see the layer list in .dependency-cruiser.cjs`,
      severity: "error",
      from: { path: at(name) },
      to: { path: forbidden.map(at) },
    };
  }),
).filter((rule) => rule.to.path.length > 0);

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "Modules in packages/ and functions/ must not import each other in a cycle.",
      severity: "error",
      from: { path: "^(packages|functions)/" },
      to: { circular: true },
    },
    {
      name: "no-deep-import",
      comment: "Import another package through its index.ts only.",
      severity: "error",
      from: { path: "^packages/([^/]+)/" },
      to: { path: "^packages/[^/]+/", pathNot: ["^packages/$1/", "^packages/[^/]+/index\\.ts$"] },
    },
    {
      name: "no-deep-import-from-functions",
      comment: "functions/ imports packages through their index.ts only.",
      severity: "error",
      from: { path: "^functions/" },
      to: { path: "^packages/", pathNot: "^packages/[^/]+/index\\.ts$" },
    },
    ...layerRules,
    {
      name: "clients-only-on-events",
      comment: "client, web and cli import only events and each other.",
      severity: "error",
      from: { path: "^packages/(client|web|cli)/" },
      to: { path: ["^functions/", "^packages/"], pathNot: "^packages/(events|client|web|cli)/" },
    },
    {
      name: "server-not-on-clients",
      comment: "The server side does not import client packages (only http imports web's bundle).",
      severity: "error",
      from: { path: ["^functions/", "^packages/"], pathNot: "^packages/(client|web|cli|http)/" },
      to: { path: "^packages/(client|web|cli)/" },
    },
    {
      name: "http-not-on-client-or-cli",
      comment: "http imports web (the page's bundle) and no other client package.",
      severity: "error",
      from: { path: "^packages/http/" },
      to: { path: "^packages/(client|cli)/" },
    },
    {
      name: "offline-model-only-from-local",
      comment: "The offline model is for local runs (and test/, bench/), never deployed code.",
      severity: "error",
      from: { path: ["^functions/", "^packages/"], pathNot: "^packages/(local|offline-model)/" },
      to: { path: "^packages/offline-model/" },
    },
  ],
  options: {
    includeOnly: "^(packages|functions)/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".mts", ".js", ".mjs"] },
  },
};
