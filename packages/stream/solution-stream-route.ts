import type { Hono } from "hono";
import * as z from "zod";
import { type AppEnv, authenticate, HttpError, limitBody } from "../http/index.ts";
import { describeIssues } from "../run-start/index.ts";
import { readJsonObject } from "./start-as-caller.ts";
import { startOrResume, streamChoice } from "./start-or-resume.ts";
import type { StreamKit } from "./stream-kit.ts";

/**
 * The question every diagnosis run asks. The Kubernetes agent's API takes no question: its
 * server ran one fixed analysis ("analyze the cluster and explain"), narrowed by `filter`.
 */
export const SOLUTION_QUESTION =
  "Diagnose the cluster: find the resources in trouble, explain the likely cause of each, and how to fix it.";

/**
 * The body of POST /get_solution_stream: `filter` (optional) names the resource kinds to
 * analyze (`"Pod"`, `"Pod, Service"`), at most 1,000 characters, as the run's `params.filter`.
 * Unknown fields are refused, so a typo is an error rather than an unfiltered run.
 */
export const SolutionRequestSchema = z.strictObject({
  filter: z
    .string()
    .trim()
    .min(1, "filter must not be empty")
    .max(1000, "filter must be at most 1000 characters")
    .optional(),
});

/**
 * POST /get_solution_stream (the Kubernetes diagnosis agent's streaming API, docs/origins.md
 * seed 000): starts a run of {@link SOLUTION_QUESTION} as the caller, with `params.filter` from
 * the body, and streams it on the same response in the `k8s-solution` format (an `analyzing`
 * frame every 2 s, then `complete` with the solution). Query: `format`, `types`, `flush`,
 * checked before the body. A request with `Last-Event-ID` resumes the run it started (see
 * startOrResume). Errors as POST /runs, with 400 `invalid_request` naming `filter`.
 */
export function registerSolutionStream(app: Hono<AppEnv>, kit: StreamKit): void {
  app.post("/get_solution_stream", authenticate(kit.deps.auth), limitBody(), async (c) => {
    const choice = streamChoice(c, kit, "k8s-solution");
    const parsed = SolutionRequestSchema.safeParse(await readJsonObject(c));
    if (!parsed.success) throw new HttpError(400, "invalid_request", describeIssues(parsed.error));
    const { filter } = parsed.data;
    return startOrResume(
      c,
      kit,
      { question: SOLUTION_QUESTION, ...(filter ? { params: { filter } } : {}) },
      choice,
    );
  });
}
