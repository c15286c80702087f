/**
 * `npm run bench`: start the local stack with an instrumented store, run the scenarios of
 * issue 8 (bench/scenarios.ts) `repeats` times, and write bench/results.json,
 * docs/benchmarks.md and the model table of docs/capacity.md. `--smoke` runs tiny sizes (the test suite does, so the bench cannot
 * rot); `--out <dir>` writes both files there instead; `--report-only` renders the report
 * again from the results on disk (after editing bench/findings.md).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { renderCapacity, withCapacityTable } from "./capacity.ts";
import { renderReport } from "./report.ts";
import { type BenchResults, evaluateTargets, FULL, runBench, SMOKE } from "./run-bench.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function main() {
  const { values } = parseArgs({
    options: { smoke: { type: "boolean" }, out: { type: "string" }, "report-only": { type: "boolean" } },
  });
  const sizes = values.smoke ? SMOKE : FULL;
  const command = values.smoke ? "npm run bench -- --smoke" : "npm run bench";
  const resultsPath = values.out ? `${values.out}/results.json` : `${ROOT}bench/results.json`;
  const reportPath = values.out ? `${values.out}/benchmarks.md` : `${ROOT}docs/benchmarks.md`;
  if (values.out) mkdirSync(values.out, { recursive: true });
  // --report-only: render the report again from the results on disk (after editing findings.md).
  const results: BenchResults = values["report-only"]
    ? (JSON.parse(readFileSync(resultsPath, "utf8")) as BenchResults)
    : await runBench(sizes, command);
  results.targets = evaluateTargets(results, results.meta.sizes);
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  const findings = readFileSync(`${ROOT}bench/findings.md`, "utf8");
  writeFileSync(reportPath, renderReport(results, findings));
  // docs/capacity.md's model table comes from the same measured counts (bench/capacity.ts).
  const capacityPath = values.out ? `${values.out}/capacity.md` : `${ROOT}docs/capacity.md`;
  const capacityDoc = readFileSync(`${ROOT}docs/capacity.md`, "utf8");
  writeFileSync(capacityPath, withCapacityTable(capacityDoc, renderCapacity(results.audience)));
  for (const t of results.targets) console.log(`${t.pass ? "PASS" : "FAIL"}  ${t.target}: ${t.measured}`);
  console.log(`wrote ${resultsPath}, ${reportPath} and ${capacityPath}`);
}

if (process.argv[1]?.endsWith("bench/main.ts")) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
