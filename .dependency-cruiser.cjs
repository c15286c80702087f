// Dependency rules, checked by `npm run check:deps` (part of `npm test`; a violation fails CI).
// The tree has four parts:
//
//   packages/   what deploys: libraries the Lambda functions are built from
//   functions/  the AWS composition root: one thin module per Lambda entry point
//   local/      the embedded default (`npm start`): the local stack and the offline model; never deployed
//   bench/      the benchmark (`npm run bench`); never deployed
//   infra/      the SST resources (read by sst.config.ts); imports only data modules of packages,
//               plus the agent's index (the deployed agent's definition: the ASL is generated from it)
//
// Rules:
// 1. No circular dependency between modules (type-only imports count too).
// 2. A package is entered through its index.ts only: an import from anywhere else into any
//    other file of a package fails. Within a package, siblings import each other freely.
//    (test/ is not checked: a test may import the module it tests.)
// 3. Layers. A package may import only packages in lower ranks, never a higher one and never
//    a sibling in its own rank:
//
//       0 events                        the event contract
//       1 config | observability        settings | logs and metrics
//       2 store                         the DynamoDB table, by item family
//       3 auth                          jose verifiers, stream tokens
//       4 workflow                      ASL + the Workflow port and its Step Functions adapter
//       5 agent                         stage runner, stages, model client, tools
//       6 run-start | sdk               starting a run (HTTP, SQS, EventBridge all call it) | the public API for agents
//       7 http | default-agent          what both HTTP apps share | the built-in agent (public API only)
//       8 api | stream                  the API app | the stream app and its tail engine
//       9 compose                       the one composition function both roots call
//      10 functions | local/stack       the AWS root | the local root
//
//    local/offline-model answers the built-in agent's prompts: it imports only default-agent (its
//    formats) and events. default-agent imports only packages/sdk/index.ts (what "stagecast"
//    resolves to), so the built-in agent has no private path. Clients (client, web, cli, react) import only events and each other,
//    and react (the hooks) only client; of the server side only api imports a client package (web, for the page's bundle).
// 4. Set apart: nothing in packages/ or functions/ imports local/ or bench/; nothing in local/
//    imports bench/.

/** Server layers, lowest first; entries in one inner list are siblings. */
const LAYERS = [
  ["events"],
  ["config", "observability"],
  ["store"],
  ["auth"],
  ["workflow"],
  ["agent"],
  ["run-start", "sdk"],
  ["http", "default-agent"],
  ["api", "stream"],
  ["compose"],
  ["functions", "local/stack"],
];

/** A path regex for a layer entry. */
const at = (name) =>
  name === "functions" ? "^functions/" : name.startsWith("local/") ? `^${name}/` : `^packages/${name}/`;

const layerRules = LAYERS.flatMap((rank, index) =>
  rank.map((name) => {
    const above = LAYERS.slice(index + 1).flat();
    const siblings = rank.filter((other) => other !== name);
    const forbidden = [...above, ...siblings];
    return {
      name: `layer-${name.replace("/", "-")}`,
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
      comment: "Modules must not import each other in a cycle.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-deep-import",
      comment: "Import another package through its index.ts only.",
      severity: "error",
      from: { path: "^(packages|local)/([^/]+)/" },
      to: {
        path: "^(packages|local)/[^/]+/",
        pathNot: ["^$1/$2/", "^(packages|local)/[^/]+/index\\.ts$"],
      },
    },
    {
      name: "no-deep-import-from-roots",
      comment: "functions/ and bench/ import packages and local/ through their index.ts only.",
      severity: "error",
      from: { path: "^(functions|bench)/" },
      to: { path: "^(packages|local)/", pathNot: "^(packages|local)/[^/]+/index\\.ts$" },
    },
    {
      name: "infra-imports-data-modules-only",
      comment:
        "infra/ runs inside SST's deploy program: it may read the settings schema, the ASL builder, the tool-worker list and the agent's index (the ASL is generated from the deployed agent's definition at deploy time), and nothing that opens clients at import.",
      severity: "error",
      from: { path: "^infra/" },
      to: {
        path: "^(packages|local|functions|bench)/",
        pathNot: [
          "^packages/config/",
          "^packages/events/",
          "^packages/workflow/definition\\.ts$",
          "^packages/agent/tools/worker-sources\\.ts$",
          // The deployed agent's definition: the ASL is generated from it at deploy time, and
          // the stage function's timeout is sized from its longest stage. A user's agent module
          // (sst.config.ts's AGENT) is imported by path at deploy time (infra/agent.ts), which
          // this rule does not see: it imports packages through "stagecast" (packages/sdk).
          "^packages/agent/index\\.ts$",
          "^packages/default-agent/index\\.ts$",
        ],
      },
    },
    ...layerRules,
    {
      name: "default-agent-on-public-api-only",
      comment:
        "The built-in agent is written with the public API: of Stagecast it imports packages/sdk/index.ts (what `stagecast` resolves to) and nothing else.",
      severity: "error",
      from: { path: "^packages/default-agent/" },
      to: {
        path: "^(packages|functions|local|bench|infra)/",
        pathNot: ["^packages/default-agent/", "^packages/sdk/index\\.ts$"],
      },
    },
    {
      name: "offline-model-on-default-agent-formats-only",
      comment:
        "The offline model answers the built-in agent's prompts: it imports default-agent (its formats) and events, nothing else.",
      severity: "error",
      from: { path: "^local/offline-model/" },
      to: {
        path: "^(packages|functions|local)/",
        pathNot: "^(packages/(default-agent|events)|local/offline-model)/",
      },
    },
    {
      name: "deployed-code-not-on-local-or-bench",
      comment:
        "What deploys (packages/, functions/) never imports the local stack, the offline model or the benchmark.",
      severity: "error",
      from: { path: "^(packages|functions)/" },
      to: { path: "^(local|bench)/" },
    },
    {
      name: "local-not-on-bench",
      comment: "The local stack does not import the benchmark (the benchmark drives it).",
      severity: "error",
      from: { path: "^local/" },
      to: { path: "^bench/" },
    },
    {
      name: "clients-only-on-events",
      comment: "client, web, cli and react import only events and each other.",
      severity: "error",
      from: { path: "^packages/(client|web|cli|react)/" },
      to: {
        path: ["^functions/", "^packages/", "^local/"],
        pathNot: "^packages/(events|client|web|cli|react)/",
      },
    },
    {
      name: "react-only-on-client",
      comment:
        "react (the hooks, published as @stagecast/react) imports only client, its one dependency (@stagecast/client).",
      severity: "error",
      from: { path: "^packages/react/" },
      to: { path: ["^functions/", "^packages/", "^local/"], pathNot: "^packages/(react|client)/" },
    },
    {
      name: "server-not-on-clients",
      comment: "The server side does not import client packages (only api imports web's bundle).",
      severity: "error",
      from: {
        path: ["^functions/", "^packages/", "^local/"],
        pathNot: "^packages/(client|web|cli|react|api)/",
      },
      to: { path: "^packages/(client|web|cli|react)/" },
    },
    {
      name: "api-not-on-client-or-cli",
      comment: "api imports web (the page's bundle) and no other client package.",
      severity: "error",
      from: { path: "^packages/api/" },
      to: { path: "^packages/(client|cli|react)/" },
    },
  ],
  options: {
    includeOnly: "^(packages|functions|local|bench|infra)/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".mts", ".js", ".mjs"] },
  },
};
