import { z } from "zod";

/**
 * Reading a cluster snapshot (`kubectl get pods,deployments,services -A -o json`: a `List`
 * whose `items` are the objects) and finding what is wrong with it. Pure functions of the
 * snapshot: nothing here keeps state between calls.
 */

/** The kinds this example inspects, as kubectl spells them. */
export const KINDS = ["Pod", "Deployment", "Service"] as const;
/** A kind this example inspects. */
export type Kind = (typeof KINDS)[number];

/** What can be wrong with an object. */
export type ProblemKind =
  | "CrashLoopBackOff"
  | "ImagePullBackOff"
  | "Unschedulable"
  | "Unavailable"
  | "NoEndpoints";

/** One thing wrong with one object of the snapshot. */
export type Problem = {
  kind: Kind;
  namespace: string;
  name: string;
  problem: ProblemKind;
  /** One sentence for people: the evidence from the object's status. */
  detail: string;
};

const Meta = z.object({
  name: z.string(),
  namespace: z.string().default("default"),
  labels: z.record(z.string(), z.string()).default({}),
});
const Condition = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
const ContainerStatus = z.object({
  name: z.string(),
  image: z.string().default(""),
  ready: z.boolean().default(false),
  restartCount: z.number().default(0),
  state: z
    .object({
      waiting: z.object({ reason: z.string().optional(), message: z.string().optional() }).optional(),
    })
    .default({}),
  lastState: z
    .object({ terminated: z.object({ exitCode: z.number(), reason: z.string().optional() }).optional() })
    .default({}),
});
const PodSchema = z.object({
  kind: z.literal("Pod"),
  metadata: Meta,
  status: z
    .object({
      phase: z.string().default("Unknown"),
      conditions: z.array(Condition).default([]),
      containerStatuses: z.array(ContainerStatus).default([]),
    })
    .default({ phase: "Unknown", conditions: [], containerStatuses: [] }),
});
const DeploymentSchema = z.object({
  kind: z.literal("Deployment"),
  metadata: Meta,
  spec: z.object({ replicas: z.number().default(1) }),
  status: z
    .object({ availableReplicas: z.number().default(0), conditions: z.array(Condition).default([]) })
    .default({ availableReplicas: 0, conditions: [] }),
});
const ServiceSchema = z.object({
  kind: z.literal("Service"),
  metadata: Meta,
  spec: z.object({ selector: z.record(z.string(), z.string()).optional() }),
});
/**
 * A snapshot in kubectl's `get -o json` shape: every item has a kind and metadata; the fields
 * of the kinds inspected are read by their own schemas ({@link findProblems}).
 */
export const SnapshotSchema = z.object({
  kind: z.literal("List"),
  items: z.array(z.looseObject({ kind: z.string(), metadata: Meta })),
});
/** A parsed snapshot. */
export type Snapshot = z.infer<typeof SnapshotSchema>;
type Pod = z.infer<typeof PodSchema>;
type Deployment = z.infer<typeof DeploymentSchema>;
type Service = z.infer<typeof ServiceSchema>;

const ALIASES: Record<string, Kind> = {
  pod: "Pod",
  pods: "Pod",
  po: "Pod",
  deployment: "Deployment",
  deployments: "Deployment",
  deploy: "Deployment",
  service: "Service",
  services: "Service",
  svc: "Service",
};

/**
 * The kinds a user named, as kubectl spells them (`pods`, `po` and `Pod` are all `Pod`), in
 * the order first named, and the names this example does not know.
 */
export function normaliseKinds(names: readonly string[]): { kinds: Kind[]; unsupported: string[] } {
  const kinds = new Set<Kind>();
  const unsupported: string[] = [];
  for (const name of names) {
    const kind = ALIASES[name.trim().toLowerCase()];
    if (kind) kinds.add(kind);
    else if (name.trim()) unsupported.push(name.trim());
  }
  return { kinds: [...kinds], unsupported };
}

const isReady = (pod: Pod): boolean =>
  pod.status.phase === "Running" &&
  pod.status.conditions.some((c) => c.type === "Ready" && c.status === "True");

/** A pod's problems: a container waiting in CrashLoopBackOff or an image pull back-off, or no node. */
function podProblems(pod: Pod): Problem[] {
  const where = { kind: "Pod" as const, namespace: pod.metadata.namespace, name: pod.metadata.name };
  const problems: Problem[] = [];
  for (const c of pod.status.containerStatuses) {
    const reason = c.state.waiting?.reason;
    if (reason === "CrashLoopBackOff") {
      const last = c.lastState.terminated;
      const exit = last ? `; last exit code ${last.exitCode}${last.reason ? ` (${last.reason})` : ""}` : "";
      const detail = `container ${c.name} restarted ${c.restartCount} times${exit}`;
      problems.push({ ...where, problem: "CrashLoopBackOff", detail });
    } else if (reason === "ImagePullBackOff" || reason === "ErrImagePull") {
      const why = c.state.waiting?.message ?? reason;
      problems.push({ ...where, problem: "ImagePullBackOff", detail: `container ${c.name}: ${why}` });
    }
  }
  const scheduled = pod.status.conditions.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
    problems.push({
      ...where,
      problem: "Unschedulable",
      detail: scheduled.message ?? "no node fits the pod",
    });
  }
  return problems;
}

/** A deployment with fewer available replicas than it wants. */
function deploymentProblems(d: Deployment): Problem[] {
  const { availableReplicas: available, conditions } = d.status;
  if (available >= d.spec.replicas) return [];
  const condition = conditions.find((c) => c.type === "Available" && c.status === "False");
  const because = condition ? `; Available=False (${condition.reason ?? "no reason given"})` : "";
  return [
    {
      kind: "Deployment",
      namespace: d.metadata.namespace,
      name: d.metadata.name,
      problem: "Unavailable",
      detail: `${d.spec.replicas - available} of ${d.spec.replicas} replicas unavailable${because}`,
    },
  ];
}

/** A service whose selector matches no ready pod of its namespace: it has no endpoints. */
function serviceProblems(s: Service, pods: readonly Pod[]): Problem[] {
  const selector = Object.entries(s.spec.selector ?? {});
  if (selector.length === 0) return []; // no selector: endpoints are managed by hand
  const matches = pods.filter(
    (p) =>
      p.metadata.namespace === s.metadata.namespace && selector.every(([k, v]) => p.metadata.labels[k] === v),
  );
  if (matches.some(isReady)) return [];
  const shown = selector.map(([k, v]) => `${k}=${v}`).join(",");
  return [
    {
      kind: "Service",
      namespace: s.metadata.namespace,
      name: s.metadata.name,
      problem: "NoEndpoints",
      detail: `selector ${shown} matches ${matches.length === 0 ? "no pods" : `${matches.length} pods, none of them ready`}`,
    },
  ];
}

/** The snapshot's items of `schema`'s kind that it can read (an item it cannot is skipped). */
function itemsOf<T>(snapshot: Snapshot, schema: z.ZodType<T>): T[] {
  return snapshot.items.flatMap((item) => {
    const parsed = schema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

/**
 * The problems of the snapshot's objects of `kinds` (pods, then deployments, then services,
 * each in the snapshot's order), and how many objects of each of those kinds it has. A service
 * is checked against all the snapshot's pods, whether or not pods are among `kinds`.
 */
export function findProblems(
  snapshot: Snapshot,
  kinds: readonly Kind[],
): { checked: Partial<Record<Kind, number>>; problems: Problem[] } {
  const pods = itemsOf(snapshot, PodSchema);
  const checked: Partial<Record<Kind, number>> = {};
  const problems: Problem[] = [];
  for (const kind of kinds) {
    checked[kind] = snapshot.items.filter((i) => i.kind === kind).length;
  }
  if (kinds.includes("Pod")) problems.push(...pods.flatMap(podProblems));
  if (kinds.includes("Deployment"))
    problems.push(...itemsOf(snapshot, DeploymentSchema).flatMap(deploymentProblems));
  if (kinds.includes("Service")) {
    problems.push(...itemsOf(snapshot, ServiceSchema).flatMap((s) => serviceProblems(s, pods)));
  }
  return { checked, problems };
}
