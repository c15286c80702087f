import { defineAgent, defineTool, type StageHandlerContext } from "stagecast";
import { z } from "zod";
import snapshot from "./cluster.json" with { type: "json" };
import { findProblems, KINDS, type Kind, normaliseKinds, type Problem, SnapshotSchema } from "./cluster.ts";

/**
 * A Kubernetes diagnosis agent: it inspects the bundled cluster snapshot (cluster.json, in
 * `kubectl get -o json`'s shape) for the resource kinds the run's `params.filter` names,
 * groups what it finds, and explains it. See README.md.
 */

/** What the collect stage hands on. */
type Collected = {
  kinds: Kind[];
  unsupported: string[];
  checked: Partial<Record<Kind, number>>;
  problems: Problem[];
  /** Why the inspection failed, when it did. */
  error?: string;
};

/**
 * `inspect_cluster`: the problems of the snapshot's objects of the given kinds. The snapshot is
 * bundled with the module and read (and checked) on every call; nothing is kept between calls.
 */
export const inspectCluster = defineTool({
  name: "inspect_cluster",
  description:
    "Inspect the cluster snapshot for problems (CrashLoopBackOff, ImagePullBackOff, Unschedulable pods; " +
    "Deployments with unavailable replicas; Services without endpoints) among the given resource kinds.",
  input: z.object({ kinds: z.array(z.string().min(1).max(64)).min(1).max(20) }),
  timeoutMs: 5000,
  run: async ({ kinds: names }) => {
    const { kinds, unsupported } = normaliseKinds(names);
    return { kinds, unsupported, ...findProblems(SnapshotSchema.parse(snapshot), kinds) };
  },
});

/** The kinds `params.filter` names (`"Pod"`, `"pods, deploy"`): every kind this example knows when it names none. */
function filterKinds(filter: string | number | boolean | undefined): string[] {
  const names = typeof filter === "string" ? filter.split(/[\s,]+/).filter(Boolean) : [];
  return names.length > 0 ? names : [...KINDS];
}

/** How many problems have each value of `key`. */
function countBy(problems: readonly Problem[], key: (p: Problem) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of problems) counts[key(p)] = (counts[key(p)] ?? 0) + 1;
  return counts;
}

/**
 * Run `work` while telling the client how long it has been going: a stage.progress now and
 * once a second (`<label> (<n> s)…`), the stage's percent creeping from `from` towards `to`.
 * The reports go one after another and are all written before this returns.
 */
async function withElapsed<T>(
  ctx: StageHandlerContext,
  label: string,
  [from, to]: [number, number],
  work: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  let reports = Promise.resolve();
  const tick = () => {
    const seconds = Math.round((Date.now() - started) / 1000);
    const percent = from + (to - from) * (1 - Math.exp(-seconds / 20));
    // A failed report (the run was cancelled) must not surface here: `work` sees the signal.
    reports = reports.then(() => ctx.progress(percent, `${label} (${seconds} s)…`)).catch(() => undefined);
  };
  tick();
  const timer = setInterval(tick, 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    await reports;
  }
}

/** The problems as a list for people, one line each. */
function problemList(problems: readonly Problem[]): string {
  return problems.map((p) => `- ${p.kind} ${p.namespace}/${p.name}: ${p.problem} (${p.detail})`).join("\n");
}

/** collect: the inspect_cluster tool over the kinds `params.filter` names. */
async function collect(ctx: StageHandlerContext): Promise<Collected> {
  const names = filterKinds(ctx.input.params?.filter);
  await ctx.progress(10, `Inspecting ${names.join(", ")} in the cluster snapshot…`);
  const outcome = await ctx.tool("inspect_cluster", { kinds: names });
  if (!outcome.ok) {
    await ctx.progress(100, `The inspection failed: ${outcome.error.message}`);
    return { kinds: [], unsupported: names, checked: {}, problems: [], error: outcome.error.message };
  }
  const found = outcome.result as Collected;
  const objects = Object.values(found.checked).reduce((a, b) => a + (b ?? 0), 0);
  await ctx.progress(100, `Found ${found.problems.length} problems among ${objects} objects.`);
  return found;
}

/** analyze: the problems grouped (sent to clients as the stage's data), then ranked by the model. */
async function analyze(
  ctx: StageHandlerContext,
): Promise<Record<string, number | string | Record<string, number>>> {
  const { problems } = ctx.outputs.collect as unknown as Collected;
  const byKind = countBy(problems, (p) => p.kind);
  const byProblem = countBy(problems, (p) => p.problem);
  await ctx.emit({ problems: problems.length, byKind, byProblem }, `${problems.length} problems to analyze.`);
  if (problems.length === 0) return { problems: 0, byKind, byProblem, triage: "" };
  const triage = await withElapsed(ctx, "Ranking the problems with the model", [10, 95], () =>
    ctx.model.complete(
      [
        {
          role: "system",
          content:
            "You are a Kubernetes site reliability engineer. Rank the problems by urgency, one line each.",
        },
        { role: "user", content: problemList(problems) },
      ],
      { maxTokens: 400 },
    ),
  );
  return { problems: problems.length, byKind, byProblem, triage };
}

/** explain: the model's explanation, streamed, followed by the list of the problems found. */
async function explain(ctx: StageHandlerContext): Promise<{ answer: string }> {
  const collected = ctx.outputs.collect as unknown as Collected;
  const { triage } = ctx.outputs.analyze as { triage: string };
  if (collected.error) return { answer: `The cluster could not be inspected: ${collected.error}` };
  if (collected.kinds.length === 0) {
    const named = collected.unsupported.join(", ");
    return { answer: `The filter names no kind this agent inspects (${KINDS.join(", ")}): ${named}.` };
  }
  // The run's params ride in the run state, so this stage reads the filter as the first did.
  const filter = ctx.input.params?.filter;
  const scope = `${collected.kinds.join(", ")}${typeof filter === "string" ? `, filter "${filter}"` : ""}`;
  const skipped =
    collected.unsupported.length > 0
      ? `\n\nNot inspected (unknown kinds): ${collected.unsupported.join(", ")}.`
      : "";
  if (collected.problems.length === 0) {
    return { answer: `No problems found in the cluster snapshot (${scope}).${skipped}` };
  }
  const list = problemList(collected.problems);
  const text = await withElapsed(ctx, "Explaining", [5, 95], () =>
    ctx.model.stream([
      {
        role: "system",
        content:
          "You are a Kubernetes site reliability engineer. Explain the likely cause of each problem and the " +
          "kubectl commands to confirm and fix it. Be brief.",
      },
      {
        role: "user",
        content: `${ctx.input.question}\n\nProblems found (${scope}):\n${list}\n\nUrgency:\n${triage}`,
      },
    ]),
  );
  return { answer: `${text.trim()}\n\nProblems found (${scope}):\n${list}${skipped}` };
}

/** The agent: collect → analyze → explain, weights 1/1/3. */
export default defineAgent({
  name: "k8s-diagnosis",
  tools: [inspectCluster],
  stages: [
    { name: "collect", run: collect },
    { name: "analyze", timeoutSeconds: 180, run: analyze },
    { name: "explain", weight: 3, timeoutSeconds: 300, run: explain },
  ],
});
